package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// nonce keeps ids of separate test runs apart (a reused database stays correct).
var nonce = func() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var counter atomic.Int64

// newID is a fresh UUID (v5, like callback ids), unique in the process.
func newID() string {
	return domain.EventID("storetest", []byte(fmt.Sprintf("%s-%d", nonce, counter.Add(1))))
}

// ev is a new event of the given type with a fresh id and small JSON data.
func ev(typ string) domain.NewEvent {
	id := newID()
	data := fmt.Sprintf(`{"id":%q,"n":%d}`, id, counter.Load())
	return domain.NewEvent{
		ID:       id,
		Type:     typ,
		Data:     json.RawMessage(data),
		Raw:      []byte(data),
		Metadata: domain.Metadata{Source: "storetest", ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
}

// evs is n new events of type "test.Event".
func evs(n int) []domain.NewEvent {
	out := make([]domain.NewEvent, n)
	for i := range out {
		out[i] = ev("test.Event")
	}
	return out
}

func req(stream string, expected domain.ExpectedVersion, events ...domain.NewEvent) domain.AppendRequest {
	return domain.AppendRequest{Stream: stream, Expected: expected, Events: events}
}

// ctxT is a context that ends with the test (or after a minute).
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t testing.TB, s domain.EventStore, r domain.AppendRequest) domain.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), r)
	if err != nil {
		t.Fatalf("append to %s: %v", r.Stream, err)
	}
	if len(res.Positions) != len(r.Events) || len(res.Versions) != len(r.Events) || len(res.Duplicates) != len(r.Events) {
		t.Fatalf("append to %s: result has %d positions, %d versions, %d duplicates for %d events",
			r.Stream, len(res.Positions), len(res.Versions), len(res.Duplicates), len(r.Events))
	}
	return res
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func mustReadStream(t testing.TB, s domain.EventStore, stream string, after int64, limit int) []domain.Event {
	t.Helper()
	out, err := s.ReadStream(ctxT(t), stream, after, limit)
	if err != nil {
		t.Fatalf("read stream %s: %v", stream, err)
	}
	return out
}

// readAllFrom reads every event after pos in batches of batch.
func readAllFrom(t testing.TB, s domain.EventStore, pos domain.Position, batch int) []domain.Event {
	t.Helper()
	var out []domain.Event
	for {
		got, err := s.ReadAll(ctxT(t), pos, batch)
		if err != nil {
			t.Fatalf("read all after %v: %v", pos, err)
		}
		if len(got) > batch {
			t.Fatalf("read all: %d events for limit %d", len(got), batch)
		}
		if len(got) == 0 {
			return out
		}
		out = append(out, got...)
		pos = got[len(got)-1].Position
	}
}

func mustHead(t testing.TB, s domain.EventStore) domain.Position {
	t.Helper()
	p, err := s.Head(ctxT(t))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return p
}

// checkIncreasing fails unless positions strictly increase by Position.Less.
func checkIncreasing(t testing.TB, events []domain.Event) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		if !events[i-1].Position.Less(events[i].Position) {
			t.Fatalf("position %v (event %d) does not come after %v", events[i].Position, i, events[i-1].Position)
		}
	}
}

func ids(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func newIDs(events []domain.NewEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func versions(events []domain.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.StreamVersion
	}
	return out
}

// stream is a stream name unique in the process.
func stream(name string) string {
	return fmt.Sprintf("test.%s-%s", name, newID()[:8])
}
