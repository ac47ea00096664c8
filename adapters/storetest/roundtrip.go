package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// testRoundTrip: raw bytes come back byte-exact, data as the same JSON,
// metadata field by field, read from another handle too.
func testRoundTrip(t *testing.T, open func() domain.EventStore) {
	s := open()
	raw := []byte("{ \"b\" : 1.50,\n\t\"a\":\"x<y & ü \\\"q\\\"\", \"n\": 12345678901234567890 }\r\n")
	obj, err := domain.ParseObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	data, err := domain.Canonical(obj)
	if err != nil {
		t.Fatal(err)
	}
	meta := domain.Metadata{
		Source:      "energy",
		ReceivedAt:  time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC),
		RemoteAddr:  "203.0.113.7:51234",
		ContentType: "application/json; charset=utf-8",
		Signature:   domain.SignatureValid,
		Readmitted:  42,
	}
	full := domain.NewEvent{ID: newID(), Type: "energy.OrderCallback", Data: data, Raw: raw, Metadata: meta}
	binary := domain.NewEvent{ID: newID(), Type: "test.Binary", Data: []byte(`{}`), Raw: []byte{0, 0xff, '{', 0x80, '}', 0}}
	empty := domain.NewEvent{ID: newID(), Type: "test.Empty", Data: []byte(`{"a":[]}`)}
	sent := []domain.NewEvent{full, binary, empty}
	a := stream("a")
	r := mustAppend(t, s, req(a, domain.NoStream, sent...))

	other := open()
	fromStream := mustReadStream(t, other, a, 0, 10)
	fromAll := readAllFrom(t, other, domain.Start, 10)
	for _, got := range [][]domain.Event{fromStream, fromAll} {
		if len(got) != len(sent) {
			t.Fatalf("read %d events, want %d", len(got), len(sent))
		}
		for i, e := range got {
			want := sent[i]
			if e.ID != want.ID || e.Type != want.Type || e.Stream != a || e.StreamVersion != int64(i+1) || e.Position != r.Positions[i] {
				t.Fatalf("event %d: id %s type %s stream %s v%d at %v; want %s %s %s v%d at %v",
					i, e.ID, e.Type, e.Stream, e.StreamVersion, e.Position, want.ID, want.Type, a, i+1, r.Positions[i])
			}
			if !bytes.Equal(e.Raw, want.Raw) {
				t.Fatalf("event %d: raw %q, want byte-exact %q", i, e.Raw, want.Raw)
			}
			if !sameJSON(t, e.Data, want.Data) {
				t.Fatalf("event %d: data %s, want %s", i, e.Data, want.Data)
			}
			if !sameMetadata(e.Metadata, want.Metadata) {
				t.Fatalf("event %d: metadata %+v, want %+v", i, e.Metadata, want.Metadata)
			}
		}
	}
}

// sameJSON compares JSON values, numbers by their text (stores may reformat spacing).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(raw []byte) any {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("stored data %q is not JSON: %v", raw, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

func sameMetadata(a, b domain.Metadata) bool {
	return a.Source == b.Source && a.ReceivedAt.Equal(b.ReceivedAt) && a.RemoteAddr == b.RemoteAddr &&
		a.ContentType == b.ContentType && a.Signature == b.Signature && a.Readmitted == b.Readmitted
}
