package storetest

import (
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// testRecordedAt: the store stamps RecordedAt, in UTC, at append time.
func testRecordedAt(t *testing.T, open func() domain.EventStore) {
	s := open()
	before := time.Now()
	mustAppend(t, s, req(stream("a"), domain.NoStream, evs(2)...))
	after := time.Now()
	// The store's clock may be another machine's (the database server): allow skew.
	const skew = 5 * time.Second
	for _, e := range readAllFrom(t, s, domain.Start, 10) {
		if e.RecordedAt.IsZero() {
			t.Fatalf("event %s: RecordedAt not set", e.ID)
		}
		if e.RecordedAt.Location() != time.UTC {
			t.Fatalf("event %s: RecordedAt %v is not in UTC", e.ID, e.RecordedAt)
		}
		if e.RecordedAt.Before(before.Add(-skew)) || e.RecordedAt.After(after.Add(skew)) {
			t.Fatalf("event %s: RecordedAt %v outside the append window [%v, %v]", e.ID, e.RecordedAt, before, after)
		}
	}
}
