package projections

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

func TestLocalLocker(t *testing.T) {
	l := NewLocalLocker()
	ctx := context.Background()
	a, ok, err := l.TryLock(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, _ := l.TryLock(ctx, "x"); ok {
		t.Fatal("second TryLock of a held lock succeeded")
	}
	if _, ok, _ := l.TryLock(ctx, "y"); !ok {
		t.Fatal("another name is not free")
	}
	_ = a.Release(ctx)
	if _, ok, _ := l.TryLock(ctx, "x"); !ok {
		t.Fatal("released lock not free")
	}
}

// Two runners on one PostgreSQL database: one applies each projection; when
// its lock connection dies it stops, the other takes over within 5 s, and
// no event is applied twice.
func TestLeaderElectionTakeover(t *testing.T) {
	url := testdb.PostgresURL(t)
	a, b := openEnv(t, "postgres", url), openEnv(t, "postgres", url)
	ctx := ctxFor(t, 3*time.Minute)
	sc := newScenario(31, 20, 12)
	deliver(t, ctx, a.store, sc.deliveries(400, 0.5))

	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	ra := a.runner(t, func(c *Config) { c.Registry, c.LockRetry, c.BatchSize = regA, time.Minute, 50; withWitness(c) })
	start(t, ra)
	waitCaughtUp(t, a, ra)
	rb := b.runner(t, func(c *Config) { c.Registry, c.LockRetry, c.BatchSize = regB, 200*time.Millisecond, 50; withWitness(c) })
	start(t, rb)
	time.Sleep(700 * time.Millisecond) // several lock attempts by b
	for _, s := range rb.Status() {
		if s.Leader {
			t.Fatalf("second runner leads %s while the first holds it", s.Name)
		}
		if s.State != StateLive || s.Version != 1 {
			t.Errorf("standby status: %+v", s)
		}
	}
	for _, n := range []string{"devices", "orders", "ledger"} {
		if v := counterValue(t, regB, "tidemark_projection_events_applied_total", n); v != 0 {
			t.Fatalf("standby applied %v %s events", v, n)
		}
	}

	// Keep ingesting while the leader's lock connections die.
	more := sc.deliveries(300, 0.5)
	ingest := make(chan struct{})
	go func() {
		defer close(ingest)
		for i := 0; i < len(more); i += 20 {
			deliver(t, ctx, a.store, more[i:min(i+20, len(more))])
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	var killed int
	if err := a.db.DB.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a
		WHERE a.datname = current_database() AND a.application_name LIKE 'tidemark-lock:projection:%'
		AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 4 {
		t.Fatalf("terminated %d lock connections, want 4", killed)
	}
	killedAt := time.Now()
	for {
		leads := 0
		for _, s := range rb.Status() {
			if s.Leader {
				leads++
			}
		}
		if leads == 4 {
			break
		}
		if time.Since(killedAt) > 5*time.Second {
			t.Fatalf("the standby did not take over within 5s: %+v", rb.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("takeover after %v", time.Since(killedAt))
	for _, s := range ra.Status() {
		if !strings.Contains(s.LastError, "lost the projection lock") || s.Leader {
			t.Errorf("old leader did not step down when its lock connection died: %+v", s)
		}
	}
	<-ingest
	waitCaughtUp(t, b, rb)

	// Each event applied once across both processes: the witness counts
	// applications, and the counters cannot have counted more than the log.
	checkExactlyOnce(t, b)
	all, err := a.store.ReadAll(ctx, domain.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for _, e := range all {
		switch {
		case strings.HasPrefix(e.Type, carwash.TypePrefix):
			want["devices"]++
		case e.Type == energy.EventType:
			want["orders"]++
			want["ledger"]++
		}
	}
	for _, n := range []string{"devices", "orders", "ledger"} {
		// A commit cut off by the lost lock may have landed without being
		// counted, so the sum can be short, never over.
		got := counterValue(t, regA, "tidemark_projection_events_applied_total", n) +
			counterValue(t, regB, "tidemark_projection_events_applied_total", n)
		if got > want[n] || got < want[n]-50 {
			t.Errorf("%s: %v events applied across both runners, %v in the log", n, got, want[n])
		}
	}
	got := readAll(t, b.reader(t))
	if _, err := rb.Rebuild(ctx, RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	sameDump(t, "after takeover vs rebuild", got, readAll(t, b.reader(t)))
}
