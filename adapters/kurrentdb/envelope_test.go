package kurrentdb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

var sampleMeta = domain.Metadata{
	Source:      "energy",
	ReceivedAt:  time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.FixedZone("CST", 8*3600)),
	RemoteAddr:  "203.0.113.7:51234",
	ContentType: "application/json; charset=utf-8",
	Signature:   domain.SignatureValid,
	Readmitted:  42,
}

func sampleEvent() domain.NewEvent {
	data := []byte(`{"a":"x<y & ü","b":1.50,"n":12345678901234567890}`)
	return domain.NewEvent{
		ID:       domain.EventID("energy", data),
		Type:     "energy.OrderCallback",
		Data:     data,
		Raw:      []byte("{ \"b\" : 1.50,\n\t\"a\":\"x<y & ü\", \"n\": 12345678901234567890 }\r\n\x00\xff"),
		Metadata: sampleMeta,
	}
}

// stored is what the server hands back for an event the client sent.
func recordedFrom(d kurrentdb.EventData, stream string, revision uint64, pos kurrentdb.Position, created time.Time) *kurrentdb.RecordedEvent {
	return &kurrentdb.RecordedEvent{
		EventID:      d.EventID,
		EventType:    d.EventType,
		ContentType:  "application/json",
		StreamID:     stream,
		EventNumber:  revision,
		Position:     pos,
		CreatedDate:  created,
		Data:         d.Data,
		UserMetadata: d.Metadata,
	}
}

func TestEnvelopeToEventData(t *testing.T) {
	e := sampleEvent()
	d, err := toEventData(e, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d.EventID.String() != e.ID || d.EventType != e.Type || d.ContentType != kurrentdb.ContentTypeJson || !bytes.Equal(d.Data, e.Data) {
		t.Fatalf("event data %+v does not carry id, type, JSON content type and data of %+v", d, e)
	}
	// The metadata JSON has the documented fields, raw as base64, no recordedAt.
	var m map[string]any
	if err := json.Unmarshal(d.Metadata, &m); err != nil {
		t.Fatalf("metadata %s: %v", d.Metadata, err)
	}
	want := map[string]any{
		"source":      "energy",
		"receivedAt":  "2025-06-07T08:09:10.123456789+08:00",
		"remoteAddr":  "203.0.113.7:51234",
		"contentType": "application/json; charset=utf-8",
		"signature":   "valid",
		"readmitted":  float64(42),
		"raw":         base64.StdEncoding.EncodeToString(e.Raw),
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("metadata JSON\n got %v\nwant %v", m, want)
	}

	// An import keeps its time, in UTC.
	at := time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.FixedZone("X", -3600))
	d, err = toEventData(e, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(d.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	if m["recordedAt"] != "2024-03-04T06:06:07.123456Z" {
		t.Fatalf("recordedAt = %v", m["recordedAt"])
	}

	// Empty optional parts stay out.
	d, err = toEventData(domain.NewEvent{ID: e.ID, Type: "t", Data: []byte(`{}`)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(d.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"raw", "recordedAt", "remoteAddr", "readmitted"} {
		if _, ok := m[k]; ok {
			t.Errorf("metadata %s has %q although it is empty", d.Metadata, k)
		}
	}
}

func TestEnvelopeRefusesInvalidEvents(t *testing.T) {
	good := sampleEvent()
	cases := map[string]func(e *domain.NewEvent){
		"no id":          func(e *domain.NewEvent) { e.ID = "" },
		"id not a UUID":  func(e *domain.NewEvent) { e.ID = "order-1" },
		"nil UUID":       func(e *domain.NewEvent) { e.ID = uuid.Nil.String() },
		"no type":        func(e *domain.NewEvent) { e.Type = "" },
		"system type":    func(e *domain.NewEvent) { e.Type = "$metadata" },
		"data not JSON":  func(e *domain.NewEvent) { e.Data = []byte(`{"a":`) },
		"time past 9999": func(e *domain.NewEvent) { e.Metadata.ReceivedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, mutate := range cases {
		e := good
		mutate(&e)
		if _, err := toEventData(e, time.Time{}); !errors.Is(err, domain.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		}
	}
	// Upper-case and 32-digit ids are UUIDs too; they read back canonical.
	for _, id := range []string{"3F1C8E52-0B7D-5A61-9C42-6E0D1A77B390", "3f1c8e520b7d5a619c426e0d1a77b390"} {
		e := good
		e.ID = id
		d, err := toEventData(e, time.Time{})
		if err != nil || d.EventID.String() != "3f1c8e52-0b7d-5a61-9c42-6e0d1a77b390" {
			t.Errorf("id %s: %v, %v", id, d.EventID, err)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	n := names{prefix: "tenant1."}
	created := time.Date(2025, 6, 7, 0, 0, 1, 500, time.FixedZone("Y", 7200))
	pos := kurrentdb.Position{Commit: 4096, Prepare: 4000}
	for _, imported := range []bool{false, true} {
		e := sampleEvent()
		var at time.Time
		if imported {
			at = time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.UTC)
		}
		d, err := toEventData(e, at)
		if err != nil {
			t.Fatal(err)
		}
		phys, err := n.physical("energy.order-E1")
		if err != nil {
			t.Fatal(err)
		}
		r := recordedFrom(d, phys, 6, pos, created)
		stream, ok := n.logical(r)
		if !ok || stream != "energy.order-E1" {
			t.Fatalf("logical(%s) = %q, %v", phys, stream, ok)
		}
		got, err := fromRecorded(r, stream)
		if err != nil {
			t.Fatal(err)
		}
		wantAt := created.UTC()
		if imported {
			wantAt = at
		}
		if got.ID != e.ID || got.Type != e.Type || got.Stream != "energy.order-E1" || got.StreamVersion != 7 ||
			!bytes.Equal(got.Data, e.Data) || !bytes.Equal(got.Raw, e.Raw) ||
			got.Position != (domain.Position{TxID: 4096, Seq: 4000}) || !got.RecordedAt.Equal(wantAt) || got.RecordedAt.Location() != time.UTC {
			t.Fatalf("imported=%v: read back %+v", imported, got)
		}
		m := got.Metadata
		if m.Source != sampleMeta.Source || !m.ReceivedAt.Equal(sampleMeta.ReceivedAt) || m.RemoteAddr != sampleMeta.RemoteAddr ||
			m.ContentType != sampleMeta.ContentType || m.Signature != sampleMeta.Signature || m.Readmitted != sampleMeta.Readmitted {
			t.Fatalf("metadata read back %+v, want %+v", m, sampleMeta)
		}
	}

	// Nothing optional: no raw, no metadata at all (an event written by another tool).
	bare := &kurrentdb.RecordedEvent{EventID: uuid.New(), EventType: "x", StreamID: "tenant1.s", Position: pos, CreatedDate: created}
	got, err := fromRecorded(bare, "s")
	if err != nil {
		t.Fatal(err)
	}
	if got.Raw != nil || got.Data != nil || got.Metadata != (domain.Metadata{}) || got.StreamVersion != 1 {
		t.Fatalf("bare event read back %+v", got)
	}
	bare.UserMetadata = []byte("not json")
	if _, err := fromRecorded(bare, "s"); err == nil {
		t.Fatal("metadata that is not JSON was accepted")
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		prefix, stream, phys string
		ok                   bool
	}{
		{"", "carwash.device-1", "carwash.device-1", true},
		{"t1-", "carwash.device-1", "t1-carwash.device-1", true},
		{"", "", "", false},
		{"t1-", "", "", false},
		{"", "$ce-carwash", "", false},
	} {
		n := names{prefix: tc.prefix}
		phys, err := n.physical(tc.stream)
		if tc.ok != (err == nil) || phys != tc.phys {
			t.Errorf("physical(%q) with prefix %q = %q, %v", tc.stream, tc.prefix, phys, err)
		}
		if err != nil && !errors.Is(err, domain.ErrInvalidEvent) {
			t.Errorf("physical(%q): %v, want ErrInvalidEvent", tc.stream, err)
		}
	}

	n := names{prefix: "t1-"}
	for _, tc := range []struct {
		stream, typ, logical string
		ours                 bool
	}{
		{"t1-carwash.device-1", "carwash.FINISH_WASH", "carwash.device-1", true},
		{"t2-carwash.device-1", "carwash.FINISH_WASH", "", false}, // another tenant
		{"carwash.device-1", "carwash.FINISH_WASH", "", false},
		{"t1-", "x", "", false},                                 // the bare prefix is no stream
		{"t1-carwash.device-1", "$>", "", false},                // a link
		{"$$t1-carwash.device-1", "$metadata", "", false},       // stream metadata
		{"$ce-t1", "carwash.FINISH_WASH", "", false},            // a system stream
		{"$stats-127.0.0.1:2113", "$statsCollected", "", false}, // a system event
	} {
		got, ok := n.logical(&kurrentdb.RecordedEvent{StreamID: tc.stream, EventType: tc.typ})
		if ok != tc.ours || got != tc.logical {
			t.Errorf("logical(%s, %s) = %q, %v; want %q, %v", tc.stream, tc.typ, got, ok, tc.logical, tc.ours)
		}
	}
	if _, ok := n.logical(nil); ok {
		t.Error("logical(nil) is ours")
	}
	// Without a prefix every non-system event is ours.
	if got, ok := (names{}).logical(&kurrentdb.RecordedEvent{StreamID: "energy.order-1", EventType: "energy.OrderCallback"}); !ok || got != "energy.order-1" {
		t.Errorf("no prefix: %q, %v", got, ok)
	}

	f := n.filter()
	if f.Type != kurrentdb.StreamFilterType || !reflect.DeepEqual(f.Prefixes, []string{"t1-"}) || f.Regex != "" {
		t.Errorf("filter with a prefix: %+v", f)
	}
	f = names{}.filter()
	if f.Type != kurrentdb.EventFilterType || f.Regex != kurrentdb.ExcludeSystemEventsFilter().Regex {
		t.Errorf("filter without a prefix: %+v", f)
	}
}
