package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain/energy"
)

// The reliability suite of quality.md that needs the real binary: kill -9
// of serve during ingest, PostgreSQL stopped and started during ingest, and
// four writer processes while a projection reads live. The rest of that
// list lives next to what it tests: 4-times delivery in
// api/duplicates_test.go, the bad-input corpus in api/badinput_test.go,
// random order = in-order in projections/runner_test.go and the domain
// property tests, leader failover in projections/leader_test.go.
//
// Every loop is bounded; TIDEMARK_SOAK=1 (make soak) runs the longer
// variants.

// TestMain: PostgreSQL comes from adapters/testdb, whose fallback cluster
// (when no server answers) Main stops at the end.
func TestMain(m *testing.M) { testdb.Main(m) }

func relSoak() bool { return os.Getenv("TIDEMARK_SOAK") == "1" }

// TestReliability builds the binary once and runs each scenario on it.
func TestReliability(t *testing.T) {
	if testing.Short() {
		t.Skip("reliability suite: builds the binary and runs it as child processes; skipped with -short")
	}
	bin := buildTidemark(t, t.TempDir())
	t.Run("kill9/sqlite", func(t *testing.T) {
		testKill9DuringIngest(t, bin, "sqlite://"+filepath.Join(t.TempDir(), "tidemark.db"))
	})
	t.Run("kill9/postgres", func(t *testing.T) {
		testKill9DuringIngest(t, bin, testdb.PostgresURL(t))
	})
	t.Run("postgres-restart", func(t *testing.T) {
		testPostgresRestart(t, bin)
	})
	t.Run("four-writers", func(t *testing.T) {
		testFourWriters(t, bin)
	})
}

// testKill9DuringIngest: serve is killed with SIGKILL while callbacks are in
// flight, then restarted on the same database, several times. Every
// callback answered 200 before a kill is in the store after it; once the
// platform's retries have brought the others, the read models the last
// process serves equal a full rebuild of the log, and the simulator's truth.
func testKill9DuringIngest(t *testing.T, bin, dbURL string) {
	cycles, perCycle, devices, orders := 2, 250, 30, 10
	if relSoak() {
		cycles, perCycle, devices, orders = 8, 2500, 200, 40
	}
	feed := newRelFeed(relSimConfig(11, devices, orders), 0)
	addr := freeAddr(t) // the platform posts to a fixed URL: each restart listens there again
	srv := startServe(t, bin, "serve-1", addr, dbURL)
	r := rand.New(rand.NewPCG(7, 11))
	var cut int64
	for c := range cycles {
		pump := startPump(srv.base, 16, 0, feed)
		target := feed.ackCount() + perCycle + r.IntN(perCycle) // a different moment each cycle
		if !waitFor(60*time.Second, func() bool { return feed.ackCount() >= target }) {
			pump.stop()
			t.Fatalf("cycle %d: %d callbacks acknowledged in 60s, want %d; answers %v", c+1, feed.ackCount(), target, feed.statuses())
		}
		inflight := pump.inflight.Load()
		srv.kill()
		pump.stop()
		cut += inflight
		acked := feed.ackedIDs()
		t.Logf("cycle %d: kill -9 with %d requests in flight, %d callbacks acknowledged so far", c+1, inflight, len(acked))

		srv = startServe(t, bin, "serve-"+strconv.Itoa(c+2), addr, dbURL)
		checkLogHolds(t, readRelLog(t, dbURL), acked, fmt.Sprintf("after kill -9 #%d and restart", c+1))
	}
	if cut == 0 {
		t.Errorf("no request was in flight at any of the %d kills: nothing was cut mid-ingest", cycles)
	}
	for status, n := range feed.statuses() {
		if status != http.StatusOK && status != 0 && status != http.StatusServiceUnavailable {
			t.Errorf("%d valid callbacks answered %d", n, status)
		}
	}

	resent := resendUnacked(t, srv.base, feed)
	feed.checkDecoded(t)
	l := readRelLog(t, dbURL)
	checkLogHolds(t, l, feed.ackedIDs(), "at the end")
	checkLogIsExactly(t, l, feed)
	t.Logf("%d deliveries, %d distinct events stored, %d re-delivered after the kills; answers %v",
		len(feed.answers()), len(l.ids), resent, feed.statuses())

	checkReadModels(t, []*serveProc{srv}, l, feed)
	if err := srv.stop(); err != nil {
		t.Errorf("graceful stop after the test: %v", err)
	}
}

// checkReadModels waits until the read models each process serves equal a
// full rebuild of the log, then checks them against the simulator's truth
// and every device's version and eventCount against the distinct events
// sent that name it.
func checkReadModels(t *testing.T, procs []*serveProc, l relLog, feed *relFeed) {
	t.Helper()
	models := foldModels(t, l)
	counts := deviceEventCounts(t, feed)
	truth := feed.truth()
	if len(models.devices) == 0 || len(models.orders) == 0 {
		t.Fatalf("the log folds to %d devices and %d orders: the traffic is too thin to check anything", len(models.devices), len(models.orders))
	}
	for _, p := range procs {
		api := newRelAPI(p.base)
		eventually(t, p.name+": read models = full rebuild", 60*time.Second, func() []string { return models.mismatches(api) })
		if d := versionMismatches(api, counts); len(d) > 0 {
			t.Errorf("%s: %d devices whose version/eventCount is not the number of distinct events, e.g.:\n  %s",
				p.name, len(d), strings.Join(d[:min(5, len(d))], "\n  "))
		}
		if d := truthMismatches(api, truth); len(d) > 0 {
			t.Errorf("%s: %d differences from the simulator's truth, e.g.:\n  %s",
				p.name, len(d), strings.Join(d[:min(5, len(d))], "\n  "))
		}
		if t.Failed() {
			return // the others serve the same tables: their answers would only repeat this
		}
		sts, err := api.projections()
		if err != nil {
			t.Errorf("%s: GET /v1/projections: %v", p.name, err)
		}
		for _, s := range sts {
			if s.Status == "failed" {
				t.Errorf("%s: projection %s failed: %v", p.name, s.Name, s.LastError)
			}
		}
	}
	t.Logf("read models checked: %d devices, %d orders, %d ledger entries", len(models.devices), len(models.orders), ledgerSize(models))
}

func ledgerSize(m relModels) int {
	n := 0
	for _, ids := range m.ledger {
		n += len(ids)
	}
	return n
}

// testPostgresRestart: the database is stopped (pg_ctl stop -m fast) and
// started again while callbacks keep coming. Meanwhile every callback is
// answered 503 with Retry-After and the process stays up; once the
// database is back the service answers 200 again by itself, and nothing
// answered 200 is lost.
func testPostgresRestart(t *testing.T, bin string) {
	outages, up, down := 1, 2*time.Second, 3*time.Second
	if relSoak() {
		outages, up, down = 4, 5*time.Second, 15*time.Second
	}
	const recoveryBound = 30 * time.Second
	cl := startRelCluster(t)
	feed := newRelFeed(relSimConfig(12, 30, 10), 0)
	srv := startServe(t, bin, "serve", "", cl.url)
	pump := startPump(srv.base, 8, 50*time.Millisecond, feed)
	stopped := false
	defer func() {
		if !stopped {
			pump.stop()
		}
	}()

	type outage struct{ down, up, recovered time.Time }
	var outs []outage
	for i := range outages {
		time.Sleep(up)
		if feed.ackCount() == 0 {
			t.Fatalf("no callback acknowledged before outage %d; answers %v", i+1, feed.statuses())
		}
		cl.stop(t)
		o := outage{down: time.Now()}
		time.Sleep(down / 2)
		if !srv.alive() {
			t.Fatalf("serve exited while PostgreSQL was down:\n%s", srv.logTail(3000))
		}
		if code := relHealthz(srv.base); code != http.StatusOK {
			t.Errorf("outage %d: /healthz answered %d while PostgreSQL was down; the process should stay live", i+1, code)
		}
		for _, path := range []string{"/v1/devices?limit=5", "/v1/orders/SIM-NONE"} {
			if code, ra := relQuery(srv.base + path); code != http.StatusServiceUnavailable || ra < 1 {
				t.Errorf("outage %d: GET %s answered %d, Retry-After %d while PostgreSQL was down; want 503 with Retry-After",
					i+1, path, code, ra)
			}
		}
		time.Sleep(down / 2)
		o.up = time.Now()
		if err := cl.start(); err != nil {
			t.Fatalf("restart PostgreSQL: %v", err)
		}
		ok := waitFor(recoveryBound, func() bool {
			for _, s := range feed.answers() {
				if s.A.Status == http.StatusOK && s.A.Start.After(o.up) {
					o.recovered = s.A.Start
					return true
				}
			}
			return false
		})
		if !ok {
			t.Fatalf("outage %d: no callback answered 200 within %s of PostgreSQL being back; answers %v\n%s",
				i+1, recoveryBound, feed.statuses(), srv.logTail(3000))
		}
		t.Logf("outage %d: down %s, first 200 %s after the restart", i+1, o.up.Sub(o.down).Round(time.Millisecond),
			o.recovered.Sub(o.up).Round(time.Millisecond))
		outs = append(outs, o)
	}
	time.Sleep(up)
	tailFrom := time.Now().Add(-up / 2)
	pump.stop()
	stopped = true
	if !srv.alive() {
		t.Fatalf("serve exited:\n%s", srv.logTail(3000))
	}

	answers := feed.answers()
	for i, o := range outs {
		var during, bad int
		for _, s := range answers {
			if s.A.Start.Before(o.down) || s.A.End.After(o.up) {
				continue
			}
			during++
			ra, err := strconv.Atoi(s.A.RetryAfter)
			if s.A.Status != http.StatusServiceUnavailable || err != nil || ra < 1 {
				if bad++; bad <= 5 {
					t.Errorf("outage %d: a callback sent while PostgreSQL was down got %d, Retry-After %q (%s); want 503 with Retry-After",
						i+1, s.A.Status, s.A.RetryAfter, s.A.Err)
				}
			}
		}
		if during < 10 {
			t.Errorf("outage %d: only %d callbacks were sent and answered while PostgreSQL was down", i+1, during)
		}
		t.Logf("outage %d: %d callbacks answered while down, %d not 503 with Retry-After", i+1, during, bad)
	}
	var tail, tailBad int
	for _, s := range answers {
		if s.A.Start.After(tailFrom) {
			tail++
			if s.A.Status != http.StatusOK {
				tailBad++
			}
		}
	}
	if tail == 0 || tailBad > 0 {
		t.Errorf("after recovery: %d of the last %d callbacks not answered 200", tailBad, tail)
	}

	checkLogHolds(t, readRelLog(t, cl.url), feed.ackedIDs(), "after the outages")
	resent := resendUnacked(t, srv.base, feed)
	feed.checkDecoded(t)
	l := readRelLog(t, cl.url)
	checkLogIsExactly(t, l, feed)
	t.Logf("%d deliveries, %d distinct events stored, %d re-delivered; answers %v", len(answers), len(l.ids), resent, feed.statuses())
	checkReadModels(t, []*serveProc{srv}, l, feed)
	if err := srv.stop(); err != nil {
		t.Errorf("graceful stop after the test: %v", err)
	}
}

// relQuery GETs url and returns the status and Retry-After (0 if none).
func relQuery(url string) (status, retryAfter int) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0
	}
	resp.Body.Close()
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, ra
}

func relHealthz(base string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// testFourWriters: four serve processes on one PostgreSQL database ingest
// distinct callbacks concurrently (one simulator's deliveries, each sent to
// one of them, retries often to another), while the projections run live
// in whichever process holds each projection's lock. No event is skipped
// and none applied twice: the read models equal a full rebuild and every
// device's version is its number of distinct events.
func testFourWriters(t *testing.T, bin string) {
	deliveries, devices, orders := 3000, 40, 12
	if relSoak() {
		deliveries, devices, orders = 40000, 300, 60
	}
	dbURL := testdb.PostgresURL(t)
	var procs []*serveProc
	for i := range 4 {
		procs = append(procs, startServe(t, bin, "writer-"+strconv.Itoa(i+1), "", dbURL))
	}
	feed := newRelFeed(relSimConfig(13, devices, orders), deliveries)
	var pumps []*relPump
	for _, p := range procs {
		pumps = append(pumps, startPump(p.base, 6, 0, feed))
	}

	// While the writers write, the projections must be applying: sample the
	// devices projection's position as the processes report it.
	positions := map[string]bool{}
	var mu sync.Mutex
	watchDone := make(chan struct{})
	ctx, stopWatch := context.WithCancel(context.Background())
	go func() {
		defer close(watchDone)
		for ctx.Err() == nil {
			for _, p := range procs {
				sts, err := newRelAPI(p.base).projections()
				if err != nil {
					continue
				}
				for _, s := range sts {
					if s.Name == "devices" && s.Leader {
						mu.Lock()
						positions[s.Cursor] = true
						mu.Unlock()
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	start := time.Now()
	for _, p := range pumps {
		p.wait()
	}
	took := time.Since(start)
	stopWatch()
	<-watchDone
	mu.Lock()
	livePositions := len(positions)
	mu.Unlock()
	if livePositions < 2 {
		t.Errorf("the devices projection reported %d distinct positions while the writers wrote; want it applying live", livePositions)
	}
	t.Logf("%d deliveries through 4 processes in %s; devices projection seen at %d positions meanwhile; answers %v",
		deliveries, took.Round(time.Millisecond), livePositions, feed.statuses())
	for status, n := range feed.statuses() {
		if status != http.StatusOK {
			t.Errorf("%d valid callbacks answered %d, want 200 (first: %s)", n, status, firstAnswer(feed, status))
		}
	}
	resendUnacked(t, procs[0].base, feed)
	feed.checkDecoded(t)

	l := readRelLog(t, dbURL)
	checkLogHolds(t, l, feed.ackedIDs(), "after the writers")
	checkLogIsExactly(t, l, feed)
	checkReadModels(t, procs, l, feed)

	// Applied twice shows nowhere in the read models (the folds ignore a
	// replay), so count: each process counts the events it folds as their
	// batch commits; over the four, each projection must have folded each
	// of its events exactly once.
	var carwashEvents, energyEvents float64
	for _, e := range l.events {
		if e.Type == energy.EventType {
			energyEvents++
		} else {
			carwashEvents++
		}
	}
	want := map[string]float64{"devices": carwashEvents, "orders": energyEvents, "ledger": energyEvents}
	applied, poison := map[string]float64{}, map[string]float64{}
	for _, p := range procs {
		api := newRelAPI(p.base)
		a, err := api.counters("tidemark_projection_events_applied_total")
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		q, err := api.counters("tidemark_projection_poison_events_total")
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		for k, v := range a {
			applied[k] += v
		}
		for k, v := range q {
			poison[k] += v
		}
	}
	for _, name := range []string{"devices", "orders", "ledger"} {
		n := want[name]
		if applied[name] != n || poison[name] != 0 {
			t.Errorf("projection %s: the 4 processes folded %v events (%v poison); the log holds %v of its events",
				name, applied[name], poison[name], n)
		}
	}
	t.Logf("events folded by the 4 processes: %v (log: %v car-wash, %v energy)", applied, carwashEvents, energyEvents)

	// Exactly one process applies each projection.
	leaders := map[string]int{}
	for _, p := range procs {
		sts, err := newRelAPI(p.base).projections()
		if err != nil {
			t.Fatalf("%s: GET /v1/projections: %v", p.name, err)
		}
		for _, s := range sts {
			if s.Leader {
				leaders[s.Name]++
			}
		}
	}
	for _, name := range []string{"devices", "orders", "ledger"} {
		if leaders[name] != 1 {
			t.Errorf("projection %s has %d leaders among the 4 processes, want 1", name, leaders[name])
		}
	}
	for _, p := range procs {
		if err := p.stop(); err != nil {
			t.Errorf("%s: graceful stop: %v", p.name, err)
		}
	}
}

func firstAnswer(feed *relFeed, status int) string {
	for _, s := range feed.answers() {
		if s.A.Status == status {
			return fmt.Sprintf("%s %s: %s", s.D.Source, s.D.Kind, s.A.Err)
		}
	}
	return ""
}
