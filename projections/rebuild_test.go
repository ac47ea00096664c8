package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

// A rebuild builds v2 beside v1 while v1 serves: queries never fail or come
// back empty, events keep arriving, and after the switch queries read v2.
func TestRebuildWhileServing(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 3*time.Minute)
		sc := newScenario(41, 30, 20)
		deliver(t, ctx, e.store, sc.deliveries(800, 0.5))
		r := e.runner(t, func(c *Config) { c.DropGrace = 300 * time.Millisecond; c.RebuildBatchSize = 97; withWitness(c) })
		start(t, r)
		waitCaughtUp(t, e, r)
		rd := e.reader(t)
		before := readAll(t, rd)
		devID, orderID := before.Devices[0].IotID, before.Orders[0].OrderID

		var queries, failures atomic.Int64
		var firstFailure atomic.Value
		stopQ := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stopQ:
						return
					default:
					}
					d, err1 := rd.Device(ctx, devID)
					os, _, err2 := rd.Orders(ctx, OrderFilter{}, "", 10)
					ds, _, err3 := rd.Devices(ctx, DeviceFilter{}, "", 5)
					le, err4 := rd.Ledger(ctx, orderID)
					_ = le
					queries.Add(1)
					if err := errors.Join(err1, err2, err3, err4); err != nil || d.IotID != devID || len(os) == 0 || len(ds) == 0 {
						failures.Add(1)
						firstFailure.CompareAndSwap(nil, errors.Join(err, errors.New("or an empty result")))
					}
				}
			}()
		}
		ingest := make(chan struct{})
		go func() {
			defer close(ingest)
			more := sc.deliveries(200, 0.5)
			for i := 0; i < len(more); i += 10 {
				deliver(t, ctx, e.store, more[i:min(i+10, len(more))])
				time.Sleep(5 * time.Millisecond)
			}
		}()

		var phases []string
		var sawStatus atomic.Bool
		res, err := r.Rebuild(ctx, RebuildOptions{Progress: func(p Progress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
			if s := statusOf(r, "devices"); s.State == StateRebuilding && s.Rebuild != nil && s.Rebuild.Version == 2 {
				sawStatus.Store(true)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		<-ingest
		time.Sleep(100 * time.Millisecond)
		close(stopQ)
		wg.Wait()
		if failures.Load() > 0 || queries.Load() < 5 {
			t.Errorf("%d of %d queries failed during the rebuild; first: %v", failures.Load(), queries.Load(), firstFailure.Load())
		}
		if len(res) != 4 {
			t.Fatalf("results: %+v", res)
		}
		for _, x := range res {
			if x.Version != 2 || x.Events == 0 || !slices.Equal(x.Tables, tablesOf(t, r, x.Projection, "_v2")) {
				t.Errorf("result: %+v", x)
			}
			if v := servedVersion(t, e, x.Projection); v.Served != 2 || v.Code != codeVersionOf(t, r, x.Projection) || v.Building != 0 {
				t.Errorf("%s versions after the switch: %+v", x.Projection, v)
			}
			if tableExists(t, e, x.Projection+"_v1") || !tableExists(t, e, x.Projection+"_v2") {
				t.Errorf("%s: v1 not dropped or v2 missing", x.Projection)
			}
		}
		for _, want := range []string{PhaseFolding, PhaseWriting, PhaseCatchingUp, PhaseSwitching, PhaseDone} {
			if !slices.Contains(phases, want) {
				t.Errorf("progress phases %v lack %s", phases, want)
			}
		}
		if !sawStatus.Load() {
			t.Error("Status never showed the rebuild")
		}
		waitCaughtUp(t, e, r)
		// The live runner moves to v2 (at its next batch, or within a
		// second when idle).
		deadline := time.Now().Add(10 * time.Second)
		for _, name := range []string{"devices", "orders", "ledger", "witness"} {
			for s := statusOf(r, name); s.Version != 2 || s.Rebuild != nil; s = statusOf(r, name) {
				if time.Now().After(deadline) {
					t.Fatalf("live runner after the switch: %+v", s)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitCaughtUp(t, e, r)
		// Pass, catch-up, switch and the live runner after it: each event once.
		checkExactlyOnce(t, e)
		// The Reader now reads v2.
		var doc []byte
		if err := e.db.DB.QueryRowContext(ctx, e.rebindQ(`SELECT device FROM devices_v2 WHERE iot_id = ?`), devID).Scan(&doc); err != nil {
			t.Fatal(err)
		}
		var fromV2 carwash.Device
		_ = json.Unmarshal(doc, &fromV2)
		if d, err := rd.Device(ctx, devID); err != nil || !reflect.DeepEqual(d, fromV2) {
			t.Errorf("reader after switch: %+v %v, v2 row %+v", d, err, fromV2)
		}
		got := readAll(t, rd)
		if _, err := r.Rebuild(ctx, RebuildOptions{}); err != nil {
			t.Fatal(err)
		}
		sameDump(t, "live after a rebuild vs another rebuild", got, readAll(t, rd))
	})
}

func (e *env) rebindQ(q string) string { return flavorOfEnv(e).rebind(q) }

func TestRebuildRejectsConcurrentAndUnknown(t *testing.T) {
	e := newEnv(t, "sqlite")
	r := e.runner(t)
	ctx := ctxFor(t, time.Minute)
	if _, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"nope"}}); !errors.Is(err, ErrUnknownProjection) {
		t.Errorf("unknown projection: %v", err)
	}
	locker, _ := r.getLocker(ctx)
	l, ok, _ := locker.TryLock(ctx, "rebuild:orders")
	if !ok {
		t.Fatal("lock")
	}
	defer l.Release(ctx)
	if err := r.StartRebuild(RebuildOptions{Projections: []string{"devices", "orders"}}); !errors.Is(err, ErrRebuildInProgress) {
		t.Errorf("concurrent rebuild: %v", err)
	}
	// The devices lease taken before the conflict was given back.
	if l2, ok, _ := locker.TryLock(ctx, "rebuild:devices"); !ok {
		t.Error("rebuild:devices still held after the failed start")
	} else {
		_ = l2.Release(ctx)
	}
	// An empty log rebuilds too (bootstrapping v1 first).
	res, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}})
	if err != nil || len(res) != 1 || res[0].Version != 2 || res[0].Events != 0 {
		t.Errorf("rebuild of an empty log: %+v %v", res, err)
	}
	if v := servedVersion(t, e, "devices"); v.Served != 2 {
		t.Errorf("versions: %+v", v)
	}
}

// StartRebuild (the admin endpoint) returns at once; Status shows the
// rebuild until it is done.
func TestStartRebuildAsync(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := ctxFor(t, 2*time.Minute)
	deliver(t, ctx, e.store, newScenario(51, 10, 10).deliveries(300, 0.5))
	r := e.runner(t)
	start(t, r)
	waitCaughtUp(t, e, r)
	if err := r.StartRebuild(RebuildOptions{Projections: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for servedVersion(t, e, "orders").Served != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("async rebuild did not switch: %+v", statusOf(r, "orders"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := servedVersion(t, e, "devices"); v.Served != 1 {
		t.Errorf("devices rebuilt too: %+v", v)
	}
}

// --until builds a point-in-time copy of the events recorded up to then,
// and leaves the served version alone.
func TestRebuildUntil(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		evs := importEvents(t, newScenario(61, 15, 10).deliveries(400, 0.5))
		if _, err := e.store.Import(ctx, evs); err != nil {
			t.Fatal(err)
		}
		waitCount(t, e, len(evs))
		until := evs[len(evs)/2].RecordedAt.Truncate(time.Second)
		r := e.runner(t)
		stop := start(t, r)
		waitCaughtUp(t, e, r)
		stop()
		served := readAll(t, e.reader(t))
		res, err := r.Rebuild(ctx, RebuildOptions{Until: until})
		if err != nil {
			t.Fatal(err)
		}
		suffix := "_asof_" + until.UTC().Format("20060102T150405")
		for _, x := range res {
			if x.Version != 0 || !slices.Equal(x.Tables, tablesOf(t, r, x.Projection, suffix)) {
				t.Errorf("result: %+v", x)
			}
			if v := servedVersion(t, e, x.Projection); v.Served != 1 || v.Building != 0 {
				t.Errorf("%s: served version touched: %+v", x.Projection, v)
			}
		}
		sameDump(t, "served read models after an --until copy", readAll(t, e.reader(t)), served)

		// Expected: the domain folds over the events recorded up to until.
		all, err := e.store.ReadAll(ctx, domain.Start, 0)
		if err != nil {
			t.Fatal(err)
		}
		devEvents := map[int64][]domain.Event{}
		ordEvents := map[string][]domain.Event{}
		wantLedger := 0
		for _, ev := range all {
			if ev.RecordedAt.After(until) {
				continue
			}
			if ids, err := carwash.Affected(ev); err == nil {
				for _, id := range ids {
					devEvents[id] = append(devEvents[id], ev)
				}
			}
			if ev.Type == energy.EventType {
				id := strings.TrimPrefix(ev.Stream, energy.StreamPrefix)
				ordEvents[id] = append(ordEvents[id], ev)
				if _, ok, _ := energy.LedgerEntryOf(ev); ok {
					wantLedger++
				}
			}
		}
		if len(devEvents) == 0 || len(ordEvents) == 0 || len(devEvents) == len(served.Devices) && len(all) == len(evs)/2 {
			t.Fatalf("until %s splits nothing", until)
		}
		rows, err := e.db.DB.QueryContext(ctx, `SELECT iot_id, device FROM `+quote("devices"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		gotDevices := 0
		for rows.Next() {
			var id int64
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				t.Fatal(err)
			}
			gotDevices++
			var got carwash.Device
			_ = json.Unmarshal(doc, &got)
			want, err := carwash.Fold(id, devEvents[id])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want.Device) {
				t.Errorf("device %d as of %s:\n got %+v\nwant %+v", id, until, got, want.Device)
			}
		}
		rows.Close()
		if gotDevices != len(devEvents) {
			t.Errorf("%d devices in the copy, %d had events by then", gotDevices, len(devEvents))
		}
		rows, err = e.db.DB.QueryContext(ctx, `SELECT order_id, doc FROM `+quote("orders"+suffix))
		if err != nil {
			t.Fatal(err)
		}
		gotOrders := 0
		for rows.Next() {
			var id string
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				t.Fatal(err)
			}
			gotOrders++
			var got energy.Order
			_ = json.Unmarshal(doc, &got)
			want, err := energy.Fold(ordEvents[id])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want.Order) {
				t.Errorf("order %s as of %s:\n got %+v\nwant %+v", id, until, got, want.Order)
			}
		}
		rows.Close()
		if gotOrders != len(ordEvents) {
			t.Errorf("%d orders in the copy, %d had events by then", gotOrders, len(ordEvents))
		}
		if n := countRows(t, e, "ledger"+suffix); n != wantLedger {
			t.Errorf("ledger copy has %d rows, want %d", n, wantLedger)
		}
	})
}

// A runner whose projection code is newer than the served tables rebuilds
// blue/green before applying; older code refuses to apply.
func TestCodeVersionChangeRebuilds(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := ctxFor(t, 2*time.Minute)
	deliver(t, ctx, e.store, newScenario(71, 10, 10).deliveries(300, 0.5))
	r1 := e.runner(t)
	stop := start(t, r1)
	waitCaughtUp(t, e, r1)
	stop()
	want := readAll(t, e.reader(t))

	r2 := e.runner(t, func(c *Config) { c.Projections = []Projection{bumped{Devices{}}, Orders{}, Ledger{}} })
	stop = start(t, r2)
	waitCaughtUp(t, e, r2)
	stop()
	if v := servedVersion(t, e, "devices"); v.Served != 2 || v.Code != (Devices{}).Version()+1 {
		t.Errorf("devices versions after a code bump: %+v", v)
	}
	if v := servedVersion(t, e, "orders"); v.Served != 1 {
		t.Errorf("orders rebuilt without a code change: %+v", v)
	}
	sameDump(t, "after the code-version rebuild", readAll(t, e.reader(t)), want)

	r3 := e.runner(t)
	start(t, r3)
	s := waitState(t, r3, "devices", StateFailed)
	if !strings.Contains(s.LastError, "newer code") {
		t.Errorf("old code on new tables: %+v", s)
	}
}

type bumped struct{ Projection }

func (b bumped) Version() int { return b.Projection.Version() + 1 }

// Point-in-time copies are listed by projection and time, and DropCopy
// drops one copy's tables and nothing else.
func TestCopiesListAndDrop(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, 2*time.Minute)
		deliver(t, ctx, e.store, newScenario(67, 6, 4).deliveries(200, 0.2))
		r := e.runner(t)
		stop := start(t, r)
		waitCaughtUp(t, e, r)
		stop()
		served := readAll(t, e.reader(t))
		early, late := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2030, 6, 7, 8, 9, 10, 0, time.UTC)
		for _, until := range []time.Time{late, early} {
			if _, err := r.Rebuild(ctx, RebuildOptions{Until: until}); err != nil {
				t.Fatal(err)
			}
		}
		copies, err := r.Copies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range copies {
			got = append(got, fmt.Sprintf("%s@%s:%s", c.Projection, c.Until.Format(time.RFC3339), strings.Join(c.Tables, ",")))
		}
		want := []string{
			"devices@2020-01-02T03:04:05Z:device_orders_asof_20200102T030405,devices_asof_20200102T030405",
			"devices@2030-06-07T08:09:10Z:device_orders_asof_20300607T080910,devices_asof_20300607T080910",
			"ledger@2020-01-02T03:04:05Z:ledger_asof_20200102T030405",
			"ledger@2030-06-07T08:09:10Z:ledger_asof_20300607T080910",
			"orders@2020-01-02T03:04:05Z:orders_asof_20200102T030405",
			"orders@2030-06-07T08:09:10Z:orders_asof_20300607T080910",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("copies:\n got %q\nwant %q", got, want)
		}
		dropped, err := r.DropCopy(ctx, early.Add(300*time.Millisecond), []string{"devices", "ledger"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dropped, []string{"device_orders_asof_20200102T030405", "devices_asof_20200102T030405", "ledger_asof_20200102T030405"}) {
			t.Errorf("dropped %q", dropped)
		}
		if copies, err = r.Copies(ctx); err != nil || len(copies) != 4 || copies[0].Until != late || copies[2].Until != early {
			t.Errorf("copies after the drop: %+v, %v", copies, err)
		}
		if dropped, err := r.DropCopy(ctx, early, []string{"devices"}); err != nil || len(dropped) != 0 {
			t.Errorf("dropping a dropped copy: %q, %v", dropped, err)
		}
		sameDump(t, "served read models after dropping copies", readAll(t, e.reader(t)), served)
	})
}
