package projections

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

var errInjected = errors.New("injected failure before commit")

// A batch's writes and its checkpoint commit together or not at all: a
// failure after the writes, before the commit, leaves neither; replaying
// gives the same read models as a rebuild.
func TestBatchAndCheckpointAreAtomic(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		deliver(t, ctx, e.store, newScenario(1, 20, 10).deliveries(300, 0.4))
		r := e.runner(t)
		var fail atomic.Bool
		fail.Store(true)
		var written atomic.Int64
		r.beforeCommit = func(ctx context.Context, q sqlq, name string) error {
			if !fail.Load() {
				return nil
			}
			var n int64 // the writes are there, inside the transaction
			if err := q.queryRow(ctx, "SELECT count(*) FROM "+quote(name+"_v1")).Scan(&n); err != nil {
				return err
			}
			written.Store(n)
			return errInjected
		}
		for _, name := range []string{"devices", "orders", "ledger"} {
			tgt, err := r.prepare(ctx, r.byName[name])
			if err != nil {
				t.Fatal(err)
			}
			events, err := e.store.ReadAll(ctx, tgt.pos, 1000)
			if err != nil {
				t.Fatal(err)
			}
			written.Store(0)
			if err := r.applyBatch(ctx, tgt, events); !errors.Is(err, errInjected) {
				t.Fatalf("%s: applyBatch err = %v, want the injected failure", name, err)
			}
			if written.Load() == 0 {
				t.Fatalf("%s: the batch wrote nothing before the failure; the test proves nothing", name)
			}
			if n := countRows(t, e, name+"_v1"); n != 0 {
				t.Errorf("%s: %d rows survived a rolled-back batch", name, n)
			}
			if p := checkpointOf(t, e, name, 1); p != domain.Start {
				t.Errorf("%s: checkpoint moved to %s in a rolled-back batch", name, p)
			}
			if tgt.dbPos != domain.Start || tgt.pos != domain.Start {
				t.Errorf("%s: runner advanced in memory to %s/%s", name, tgt.dbPos, tgt.pos)
			}
		}
		fail.Store(false)
		stop := start(t, r)
		waitCaughtUp(t, e, r)
		got := readAll(t, e.reader(t))
		stop()
		if _, err := r.Rebuild(ctx, RebuildOptions{}); err != nil {
			t.Fatal(err)
		}
		sameDump(t, "replay after a failed commit vs rebuild", got, readAll(t, e.reader(t)))
	})
}

// Catch-up goes in batches from the checkpoint, then the runner follows
// the log live.
func TestCatchUpThenLive(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		deliver(t, ctx, e.store, newScenario(2, 30, 20).deliveries(1200, 0.5))
		reg := prometheus.NewRegistry()
		r := e.runner(t, func(c *Config) { c.BatchSize = 100; c.Registry = reg })
		start(t, r)
		waitCaughtUp(t, e, r)

		head, _ := e.store.Head(ctx)
		for _, s := range r.Status() {
			if s.State != StateLive || !s.Leader || s.Position != head || s.LagEvents != 0 || s.LagSeconds != 0 || s.LastError != "" {
				t.Errorf("status after catch-up: %+v", s)
			}
		}
		if n := counterValue(t, reg, "tidemark_projection_batches_total", "orders"); n < 5 {
			t.Errorf("orders caught up in %v batches of 100; want several", n)
		}
		applied := counterValue(t, reg, "tidemark_projection_events_applied_total", "devices")
		if applied == 0 {
			t.Error("no devices events counted as applied")
		}

		// Live: a new device appears without restarting anything.
		body := `{"callTime":1732262499000,"callbackType":"MACHINE_UPDATE_INFO","iotId":990001,"machineType":"NTUNNEL_1","onlineStatus":"ONLINE"}`
		deliver(t, ctx, e.store, []delivery{{source: carwash.Source, raw: []byte(body), receivedAt: time.Now().UTC()}})
		rd := e.reader(t)
		deadline := time.Now().Add(5 * time.Second)
		for {
			d, err := rd.Device(ctx, 990001)
			if err == nil {
				if d.MachineType == nil || *d.MachineType != "NTUNNEL_1" || d.Online == nil || !*d.Online {
					t.Errorf("live device: %+v", d)
				}
				break
			}
			if !errors.Is(err, domain.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("live event not visible: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := counterValue(t, reg, "tidemark_projection_events_applied_total", "devices"); got != applied+1 {
			t.Errorf("devices applied %v after one live event, want %v", got, applied+1)
		}
		// The gauges are there too.
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, mf := range mfs {
			names = append(names, mf.GetName())
		}
		for _, want := range []string{"tidemark_projection_lag_events", "tidemark_projection_lag_seconds",
			"tidemark_projection_state", "tidemark_projection_position_seq", "tidemark_projection_leader"} {
			if !strings.Contains(strings.Join(names, ","), want) {
				t.Errorf("metric %s not registered (have %v)", want, names)
			}
		}
	})
}

func counterValue(t testing.TB, reg *prometheus.Registry, name, projection string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, "projection", projection) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// Property: for random scenarios, in-order delivery, shuffled delivery
// (with retries) and a full rebuild give the same read models.
func TestDeliveryOrderAndRebuildAgree(t *testing.T) {
	seeds := []uint64{11, 12, 13}
	if testing.Short() {
		seeds = seeds[:1]
	}
	eachDialect(t, func(t *testing.T, inOrder *env) {
		for i, seed := range seeds {
			a := inOrder
			if i > 0 {
				a = newEnv(t, inOrder.dialect)
			}
			b := newEnv(t, inOrder.dialect)
			ctx := ctxFor(t, 3*time.Minute)
			ds := newScenario(seed, 12, 10).deliveries(500, 0.45)
			deliver(t, ctx, a.store, ds)
			shuffled := append([]delivery(nil), ds...)
			rand.New(rand.NewPCG(seed, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			deliver(t, ctx, b.store, shuffled)

			ra := a.runner(t, func(c *Config) { c.BatchSize = 64 })
			// Without the state cache: every batch loads its rows back.
			rb := a.runner(t, func(c *Config) { c.Store, c.DB, c.BatchSize, c.CacheStates = b.store, b.db, 7, -1 })
			stopA, stopB := start(t, ra), start(t, rb)
			waitCaughtUp(t, a, ra)
			waitCaughtUp(t, b, rb)
			stopA()
			stopB()
			inOrderDump := readAll(t, a.reader(t))
			shuffledDump := readAll(t, b.reader(t))
			nd, no, nl := inOrderDump.counts()
			if nd < 10 || no < 8 || nl < 50 {
				t.Fatalf("seed %d: scenario too small to mean anything: %d devices, %d orders, %d ledger entries", seed, nd, no, nl)
			}
			if _, err := ra.Rebuild(ctx, RebuildOptions{}); err != nil {
				t.Fatal(err)
			}
			rebuilt := readAll(t, a.reader(t))
			sameDump(t, "rebuild vs in-order delivery", rebuilt, inOrderDump)
			sameDump(t, "shuffled vs in-order delivery", shuffledDump.withoutPositions(), inOrderDump.withoutPositions())
		}
	})
}

// poisonEvent is an event the store takes but the device fold rejects
// (FINISH_WASH without orderId).
func appendPoison(t testing.TB, e *env) domain.Position {
	t.Helper()
	data := []byte(`{"callTime":1732262400001,"callbackType":"FINISH_WASH","iotId":424242}`)
	res, err := e.store.Append(context.Background(), domain.AppendRequest{Stream: carwash.DeviceStream(424242),
		Expected: domain.AnyVersion, Events: []domain.NewEvent{{ID: domain.EventID("test", data), Type: "carwash.FINISH_WASH",
			Data: data, Raw: data, Metadata: domain.Metadata{Source: carwash.Source, ReceivedAt: time.Now().UTC()}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitVisible(t, context.Background(), e.store, res.Positions[0])
	return res.Positions[0]
}

func TestPoisonSkip(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		sc := newScenario(3, 10, 5)
		deliver(t, ctx, e.store, sc.deliveries(100, 0.3))
		at := appendPoison(t, e)
		deliver(t, ctx, e.store, sc.deliveries(100, 0.3))
		reg := prometheus.NewRegistry()
		r := e.runner(t, func(c *Config) { c.Registry = reg; c.BatchSize = 50 })
		stop := start(t, r)
		waitCaughtUp(t, e, r)
		st, orders := statusOf(r, "devices"), statusOf(r, "orders")
		stop()
		ps, err := r.Poison(ctx, "devices", 0)
		if err != nil {
			t.Fatal(err)
		}
		// Skipped, never silent: the status shows it while the projection stays live.
		if st.State != StateLive || st.LastError != "" || st.PoisonEvents != 1 || len(ps) == 0 ||
			!strings.Contains(st.LastPoison, ps[0].EventID) || !strings.Contains(st.LastPoison, at.String()) {
			t.Errorf("devices status after a skipped poison event: %+v", st)
		}
		if orders.PoisonEvents != 0 || orders.LastPoison != "" {
			t.Errorf("orders status: %+v", orders)
		}
		if len(ps) != 1 || ps[0].Position != at || ps[0].Policy != PoisonSkip || ps[0].Error == "" ||
			ps[0].EventType != "carwash.FINISH_WASH" || ps[0].Version != 1 || ps[0].LastSeen.IsZero() {
			t.Fatalf("poison records: %+v", ps)
		}
		if other, _ := r.Poison(ctx, "orders", 0); len(other) != 0 {
			t.Errorf("orders recorded poison: %+v", other)
		}
		if n := counterValue(t, reg, "tidemark_projection_poison_events_total", "devices"); n != 1 {
			t.Errorf("poison counter = %v", n)
		}
		if _, err := e.reader(t).Device(ctx, 424242); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("the poison event made a device: %v", err)
		}
		got := readAll(t, e.reader(t))
		if _, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}}); err != nil {
			t.Fatal(err)
		}
		sameDump(t, "skip vs rebuild", got, readAll(t, e.reader(t)))
		ps, _ = r.Poison(ctx, "devices", 0)
		if len(ps) != 2 || ps[0].Version != 2 {
			t.Errorf("the rebuild did not record the poison event for v2: %+v", ps)
		}
	})
}

func TestPoisonStop(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		sc := newScenario(4, 10, 5)
		deliver(t, ctx, e.store, sc.deliveries(60, 0.3))
		at := appendPoison(t, e)
		deliver(t, ctx, e.store, sc.deliveries(60, 0.3))
		before, err := e.store.ReadAll(ctx, domain.Start, 0)
		if err != nil {
			t.Fatal(err)
		}
		var prev domain.Position
		for _, ev := range before {
			if ev.Position == at {
				break
			}
			prev = ev.Position
		}
		r := e.runner(t, func(c *Config) { c.Poison = PoisonStop; c.BatchSize = 1000 })
		start(t, r)
		st := waitState(t, r, "devices", StateFailed)
		if !strings.Contains(st.LastError, "poison") || st.Position != prev {
			t.Errorf("failed status: %+v (want position %s)", st, prev)
		}
		if p := checkpointOf(t, e, "devices", 1); p != prev {
			t.Errorf("checkpoint %s, want the event before the poison one (%s)", p, prev)
		}
		ps, _ := r.Poison(ctx, "devices", 0)
		if len(ps) != 1 || ps[0].Policy != PoisonStop || ps[0].Attempts != 1 || ps[0].Position != at {
			t.Fatalf("poison records: %+v", ps)
		}
		// Other projections are not held up.
		head, _ := e.store.Head(ctx)
		deadline := time.Now().Add(10 * time.Second)
		for s := statusOf(r, "orders"); s.Position != head || s.State != StateLive; s = statusOf(r, "orders") {
			if time.Now().After(deadline) {
				t.Fatalf("orders stuck: %+v", s)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Retry meets the same event again: recorded again, failed again.
		if err := r.Retry("devices"); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(10 * time.Second)
		for {
			ps, _ = r.Poison(ctx, "devices", 0)
			if len(ps) == 1 && ps[0].Attempts == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("retry did not reach the poison event again: %+v", ps)
			}
			time.Sleep(10 * time.Millisecond)
		}
		waitState(t, r, "devices", StateFailed)
		if err := r.Retry("nope"); !errors.Is(err, ErrUnknownProjection) {
			t.Errorf("Retry(nope) = %v", err)
		}
	})
}

func statusOf(r *Runner, name string) Status {
	for _, s := range r.Status() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

func waitState(t testing.TB, r *Runner, name, state string) Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := statusOf(r, name)
		if s.State == state {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %s: %+v", name, state, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A failed batch drops the live state cache: folds change cached states
// in place (the devices' wash sets), so keeping them would make the retry
// see its own uncommitted work (a wash already counted).
func TestFailedBatchDropsStateCache(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		deliver(t, ctx, e.store, newScenario(3, 5, 5).deliveries(400, 0.2))
		r := e.runner(t)
		var fail atomic.Bool
		r.beforeCommit = func(context.Context, sqlq, string) error {
			if fail.Load() {
				return errInjected
			}
			return nil
		}
		tgt, err := r.prepare(ctx, r.byName["devices"])
		if err != nil {
			t.Fatal(err)
		}
		events, err := e.store.ReadAll(ctx, tgt.pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		half := len(events) / 2
		if err := r.applyBatch(ctx, tgt, events[:half]); err != nil { // warms the cache
			t.Fatal(err)
		}
		if tgt.cache == nil {
			t.Fatal("no state cache after a committed batch")
		}
		fail.Store(true)
		if err := r.applyBatch(ctx, tgt, events[half:]); !errors.Is(err, errInjected) {
			t.Fatalf("applyBatch err = %v, want the injected failure", err)
		}
		fail.Store(false)
		if err := r.applyBatch(ctx, tgt, events[half:]); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, e.reader(t))
		if _, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}}); err != nil {
			t.Fatal(err)
		}
		sameDump(t, "retry after a failed batch vs rebuild", got, readAll(t, e.reader(t)))
	})
}

// slowWitness is the witness projection with a slow write, so a live
// batch takes long enough for new events to arrive while it runs.
type slowWitness struct{ witness }

type slowFold struct{ Fold }

func (slowWitness) NewFold() Fold { return slowFold{witness{}.NewFold()} }

func (f slowFold) Flush(ctx context.Context, tx *Tx, final bool) error {
	time.Sleep(80 * time.Millisecond)
	return f.Fold.Flush(ctx, tx, final)
}

// A live projection waits FlushInterval after each commit however the
// events trickle in: without the pause, events arriving during a slow
// batch start the next one at once, back to back.
func TestFlushIntervalPacesLiveBatches(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, time.Minute)
		reg := prometheus.NewRegistry()
		const interval = 300 * time.Millisecond
		r := e.runner(t, func(c *Config) {
			c.Projections, c.FlushInterval, c.Registry = []Projection{slowWitness{}}, interval, reg
		})
		start(t, r)
		waitCaughtUp(t, e, r)

		began := time.Now()
		const n = 80
		for i := range n { // one callback every 20 ms, each its own append
			body := fmt.Sprintf(`{"callTime":%d,"callbackType":"MACHINE_HEARTBEAT","iotId":%d}`, 1732262400000+i, 880000+i)
			deliver(t, ctx, e.store, []delivery{{source: carwash.Source, raw: []byte(body), receivedAt: time.Now().UTC()}})
			time.Sleep(20 * time.Millisecond)
		}
		waitCaughtUp(t, e, r)
		elapsed := time.Since(began)

		batches := counterValue(t, reg, "tidemark_projection_batches_total", "witness")
		if most := float64(elapsed/interval) + 2; batches > most {
			t.Errorf("%v live batches in %v with FlushInterval %v; want at most %v", batches, elapsed.Round(time.Millisecond), interval, most)
		}
		if got := counterValue(t, reg, "tidemark_projection_events_applied_total", "witness"); got != n {
			t.Errorf("%v events applied, want %d", got, n)
		}
		checkExactlyOnce(t, e)
	})
}

// A machineType too long for an index is served in the document, not put
// in the filter column: the batch that writes it commits, live and in a
// rebuild, instead of failing forever.
func TestOverlongFilterValueDoesNotStallTheProjection(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		rnd := rand.New(rand.NewPCG(3, 4)) // random letters: a repetitive value would compress under the limit
		long := make([]byte, 4000)
		for i := range long {
			long[i] = byte('a' + rnd.IntN(26))
		}
		for i, body := range []string{
			`{"callTime":1732262400000,"callbackType":"MACHINE_UPDATE_INFO","iotId":515151,"machineType":"` + string(long) + `","errorStatus":"OK"}`,
			`{"callTime":1732262400000,"callbackType":"MACHINE_UPDATE_INFO","iotId":515152,"machineType":"NFULL_AUTO_1"}`,
		} {
			acc, err := carwash.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.store.Append(ctx, domain.AppendRequest{Stream: acc.Stream, Expected: domain.AnyVersion,
				Events: []domain.NewEvent{{ID: acc.ID, Type: acc.Type, Data: acc.Data, Raw: []byte(body),
					Metadata: domain.Metadata{Source: carwash.Source, ReceivedAt: time.Now().UTC()}}}})
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
			waitVisible(t, ctx, e.store, res.Positions[0])
		}
		r := e.runner(t)
		stop := start(t, r)
		waitCaughtUp(t, e, r)
		stop()
		rd := e.reader(t)
		d, err := rd.Device(ctx, 515151)
		if err != nil || d.MachineType == nil || *d.MachineType != string(long) {
			t.Fatalf("device with the long machineType: %v", err)
		}
		for _, f := range []struct {
			mt   string
			want []int64
		}{{mt: "NFULL_AUTO_1", want: []int64{515152}}, {mt: string(long), want: nil}} {
			got, _, err := rd.Devices(ctx, DeviceFilter{MachineType: f.mt}, "", 10)
			var ids []int64
			for _, d := range got {
				ids = append(ids, d.IotID)
			}
			if err != nil || !slices.Equal(ids, f.want) {
				t.Errorf("machineType filter (%d bytes): %v %v, want %v", len(f.mt), ids, err, f.want)
			}
		}
		before := readAll(t, rd)
		if _, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}}); err != nil {
			t.Fatalf("rebuild: %v", err)
		}
		sameDump(t, "live vs rebuild", before, readAll(t, e.reader(t)))
	})
}

// refusing is the witness, except that the database "refuses" the row of
// one event for good (as PostgreSQL refuses an index row over its size
// limit): its write fails with domain.ErrInvalidEvent in any batch.
type refusing struct {
	witness
	id string
}

func (p refusing) NewFold() Fold {
	f := witness{}.NewFold().(*keyed[string, int64, struct{}])
	row := f.row
	f.row = func(id string, n int64) ([]any, error) {
		if id == p.id {
			return nil, fmt.Errorf("row %s refused: %w", id, domain.ErrInvalidEvent)
		}
		return row(id, n)
	}
	return f
}

// A write the database refuses for good is found among its batch-mates and
// made a poison event: skipped (the others applied once each) or, under
// policy stop, the projection fails at it. Never a batch retried forever.
func TestRefusedWriteBecomesAPoisonEvent(t *testing.T) {
	for _, policy := range []PoisonPolicy{PoisonSkip, PoisonStop} {
		t.Run(string(policy), func(t *testing.T) {
			eachDialect(t, func(t *testing.T, e *env) {
				ctx := ctxFor(t, 2*time.Minute)
				deliver(t, ctx, e.store, newScenario(5, 10, 5).deliveries(120, 0.3))
				all, err := e.store.ReadAll(ctx, domain.Start, 0)
				if err != nil {
					t.Fatal(err)
				}
				bad := all[70]
				r := e.runner(t, func(c *Config) {
					c.Projections = []Projection{refusing{id: bad.ID}}
					c.BatchSize, c.Poison = 50, policy
				})
				stop := start(t, r)
				defer stop()
				table := quote(physical("witness", versionSuffix(1)))
				var applied, twice int
				if policy == PoisonStop {
					st := waitState(t, r, "witness", StateFailed)
					if st.Position != all[69].Position || st.PoisonEvents != 1 || !strings.Contains(st.LastError, bad.ID) {
						t.Errorf("failed status: %+v, want the position before %s", st, all[70].Position)
					}
				} else {
					deadline := time.Now().Add(30 * time.Second)
					for s := statusOf(r, "witness"); s.Position != all[len(all)-1].Position; s = statusOf(r, "witness") {
						if time.Now().After(deadline) {
							t.Fatalf("stuck: %+v", s)
						}
						time.Sleep(10 * time.Millisecond)
					}
					if st := statusOf(r, "witness"); st.State != StateLive || st.PoisonEvents != 1 || !strings.Contains(st.LastPoison, bad.ID) {
						t.Errorf("status after skipping: %+v", st)
					}
				}
				if err := e.db.DB.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN n <> 1 THEN 1 ELSE 0 END), 0) FROM `+table).
					Scan(&applied, &twice); err != nil {
					t.Fatal(err)
				}
				want := len(all) - 1 // every event but the refused one
				if policy == PoisonStop {
					want = 70 // the events before it
				}
				if applied != want || twice != 0 {
					t.Errorf("applied %d events (%d more than once), want %d once each", applied, twice, want)
				}
				ps, err := r.Poison(ctx, "witness", 0)
				if err != nil || len(ps) != 1 || ps[0].EventID != bad.ID || ps[0].Policy != policy ||
					!strings.Contains(ps[0].Error, "refused") {
					t.Errorf("poison records: %+v %v", ps, err)
				}
			})
		})
	}
}
