package billing_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// t0 is the receive time of the first test callback.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// hashOf is a 64-hex transaction hash named by s.
func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// cb decodes a callback of order with the given fields through the real
// energy decoder, as stored at log position seq and received seq minutes
// after t0.
func cb(t testing.TB, order string, seq int64, fields map[string]any) domain.Event {
	t.Helper()
	m := map[string]any{"orderId": order}
	for k, v := range fields {
		m[k] = v
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	acc, verdict, err := energy.Decoder{}.Decode(raw)
	var ve *domain.ValidationError
	if errors.As(err, &ve) && ve.Rule == "max" {
		// Amounts beyond today's ingest bounds: a log may still hold them,
		// and billing must sum them exactly or refuse them (ErrOverflow).
		data, cerr := canonical(raw)
		if cerr != nil {
			t.Fatal(cerr)
		}
		acc = domain.Accepted{ID: domain.EventID(energy.Source, data), Stream: energy.StreamOf(order),
			Type: energy.EventType, Data: data}
		verdict, err = domain.SignatureUnverified, nil
	}
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	at := t0.Add(time.Duration(seq) * time.Minute)
	return domain.Event{ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data, Raw: raw,
		Metadata:   domain.Metadata{Source: energy.Source, ReceivedAt: at, Signature: verdict},
		RecordedAt: at.Add(time.Second), Position: domain.Position{Seq: seq}}
}

func canonical(raw []byte) ([]byte, error) {
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return nil, err
	}
	return domain.Canonical(obj)
}

// at moves an event's receive time.
func at(e domain.Event, t time.Time) domain.Event {
	e.Metadata.ReceivedAt = t
	return e
}

// build feeds events to a fresh builder over [from, to) and fails on an error.
func build(t testing.TB, from, to *time.Time, events ...domain.Event) billing.Report {
	t.Helper()
	b := billing.NewReport(from, to)
	for _, e := range events {
		if err := b.Add(e); err != nil {
			t.Fatalf("Add %s: %v", e.ID, err)
		}
	}
	return b.Report()
}

func ids(events ...domain.Event) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

func ptr[T any](v T) *T { return &v }

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
