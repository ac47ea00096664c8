package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
)

// appendInTx appends through the store's own write path inside a
// transaction the test controls, so the test decides when it commits.
func appendInTx(t *testing.T, s *Store, tx pgx.Tx, stream string) domain.Position {
	t.Helper()
	req := domain.AppendRequest{Stream: stream, Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}}
	ids, err := validateRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	outs, _, err := s.write(context.Background(), tx, []domain.AppendRequest{req}, [][]string{ids}, []int{0}, writeMode{lock: true})
	if err != nil || outs[0].err != nil {
		t.Fatalf("write: %v %v", err, outs)
	}
	return outs[0].res.Positions[0]
}

func begin(t *testing.T, s *Store) pgx.Tx {
	t.Helper()
	tx, err := s.Pool().Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

func xactID(t *testing.T, tx pgx.Tx) uint64 {
	t.Helper()
	var x uint64
	if err := tx.QueryRow(context.Background(), `SELECT pg_current_xact_id()`).Scan(&x); err != nil {
		t.Fatal(err)
	}
	return x
}

func head(t *testing.T, s *Store) domain.Position {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A transaction that started first but commits last must not be skipped:
// while it runs, nothing written after it is readable.
func TestGateHoldsBackLaterCommits(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	txA := begin(t, s)
	xA := xactID(t, txA) // A is now the oldest running transaction

	posB := mustAppend(t, s, domain.AppendRequest{Stream: "b", Expected: domain.AnyVersion,
		Events: []domain.NewEvent{ev(newID(), "t", `{}`)}}).Positions[0]
	posA := appendInTx(t, s, txA, "a")
	if posA.TxID != xA || posA.Seq <= posB.Seq || !posA.Less(posB) {
		t.Fatalf("setup: A=%v B=%v (A must have the higher seq and the lower position)", posA, posB)
	}
	if got := readNow(t, s, domain.Start); len(got) != 0 {
		t.Fatalf("read %d events while an older transaction runs; B alone would make a follower skip A", len(got))
	}
	if h := head(t, s); !h.IsZero() {
		t.Fatalf("head = %v while A runs", h)
	}
	if err := txA.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := mustReadAll(t, s, domain.Start)
	if len(got) != 2 || got[0].Position != posA || got[1].Position != posB {
		t.Fatalf("after A commits: %v", positions(got))
	}
	if h := head(t, s); h != posB {
		t.Fatalf("head = %v, want %v", h, posB)
	}
}

// A transaction with a later id may commit first and be read first; the
// earlier-numbered event of the still running one comes after it in the
// log, so a follower that has read B still gets A.
func TestGateFollowerSeesLateCommit(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	txB := begin(t, s)
	xactID(t, txB) // B's transaction id is the smaller one
	txA := begin(t, s)
	xactID(t, txA)
	posA := appendInTx(t, s, txA, "a") // A takes the smaller seq ...
	posB := appendInTx(t, s, txB, "b") // ... B the larger one
	if !(posA.Seq < posB.Seq) || !posB.Less(posA) {
		t.Fatalf("setup: A=%v B=%v", posA, posB)
	}
	if err := txB.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := mustReadAll(t, s, domain.Start)
	if len(got) != 1 || got[0].Position != posB {
		t.Fatalf("with A running: %v, want only B %v", positions(got), posB)
	}
	follower := got[0].Position // a bigserial-only reader would now be past A's seq for good
	if err := txA.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = mustReadAll(t, s, follower)
	if len(got) != 1 || got[0].Position != posA {
		t.Fatalf("follower at %v then read %v, want A %v", follower, positions(got), posA)
	}
}

// An open transaction that never touches events (a read-model write, say)
// also holds the gate; the events appear as soon as it ends.
func TestGateReleasedByUnrelatedTransaction(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	other := begin(t, s)
	xactID(t, other)
	mustAppend(t, s, domain.AppendRequest{Stream: "x", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	if got := readNow(t, s, domain.Start); len(got) != 0 {
		t.Fatalf("read %d events past a running transaction", len(got))
	}
	if err := other.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := mustReadAll(t, s, domain.Start); len(got) != 1 {
		t.Fatalf("read %d events after the blocker ended, want 1", len(got))
	}
}

func positions(evs []domain.Event) []domain.Position {
	out := make([]domain.Position, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

// A batch waiting for a stream's lock has no transaction id yet, so it
// gets one greater than the holder's: log order agrees with version order
// even when it locked other streams before waiting.
func TestLogOrderFollowsStreamVersions(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	holder := begin(t, s)
	if _, err := holder.Exec(ctx, lockStreamsSQL, []string{"s"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{
			{Stream: "a", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}},
			{Stream: "s", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}},
		})
		if err == nil {
			err = errors.Join(errs...)
		}
		done <- err
	}()
	// Wait until the batch blocks on the lock, and check it has no xid.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		var withXID int
		// Not through holder: a transaction sees one snapshot of pg_stat_activity.
		if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(backend_xid) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).
			Scan(&waiting, &withXID); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			if withXID != 0 {
				t.Fatal("the waiting batch already has a transaction id")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	appendInTx(t, s, holder, "s") // the holder writes s v1, getting its xid only now
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var last int64
	for _, e := range mustReadAll(t, s, domain.Start) {
		if e.Stream == "s" {
			if e.StreamVersion != last+1 {
				t.Fatalf("stream s: version %d after %d in log order", e.StreamVersion, last)
			}
			last = e.StreamVersion
		}
	}
	if last != 2 {
		t.Fatalf("stream s has %d events, want 2", last)
	}
}

// The gate ignores transactions of other databases on the same server:
// they cannot write our events, so they must not hold our readers back.
// One in our own database, that never touches events, still does (it
// might yet write some).
func TestGateIgnoresOtherDatabases(t *testing.T) {
	t.Parallel()
	s, _ := freshStore(t)
	ctx := ctxT(t)
	elsewhere, err := pgx.Connect(ctx, testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Close(ctx)
	foreign, err := elsewhere.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Rollback(ctx) //nolint:errcheck
	xactID(t, foreign)

	p := mustAppend(t, s, domain.AppendRequest{Stream: "x", Expected: domain.AnyVersion,
		Events: []domain.NewEvent{ev(newID(), "t", `{}`)}}).Positions[0]
	if got := mustReadAll(t, s, domain.Start); len(got) != 1 || head(t, s) != p {
		t.Fatalf("read %d events, head %v, while another database has a transaction open; want 1 at %v",
			len(got), head(t, s), p)
	}

	local := begin(t, s)
	xactID(t, local)
	mustAppend(t, s, domain.AppendRequest{Stream: "x", Expected: domain.AnyVersion, Events: []domain.NewEvent{ev(newID(), "t", `{}`)}})
	if got := readNow(t, s, domain.Start); len(got) != 1 {
		t.Fatalf("read %d events past a running transaction of our database, want 1", len(got))
	}
}
