package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// queryRun is one open-loop run of GETs.
type queryRun struct {
	res           loadResult
	sent, skipped int
}

// benchQueries measures GET /v1/devices/{id} and /v1/orders/{id} at
// QueryRate requests/s, open loop, latency counted from each request's
// intended send time: first with no other traffic (the baseline), then
// while callbacks are posted at QueryIngestRate.
func (b *bench) benchQueries(ctx context.Context) {
	for _, kind := range []string{kindSQLite, kindPostgres} {
		prefix := "queries." + kind + "."
		if !b.o.measured(kind) {
			b.figs.skipPrefix(prefix, errStoreNotSelected.Error())
			continue
		}
		if ctx.Err() != nil {
			b.figs.skipPrefix(prefix, "interrupted")
			continue
		}
		dsn, cleanup, err := b.database(ctx, kind, "queries")
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
			continue
		}
		err = b.queriesOne(ctx, kind, dsn)
		cleanup()
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
		}
	}
}

func (b *bench) queriesOne(ctx context.Context, kind, dsn string) error {
	tr := newTraffic(3)
	pre, err := tr.next(b.o.QueryPreload)
	if err != nil {
		return err
	}
	decs, err := decodeAll(pre)
	if err != nil {
		return err
	}
	targets := queryTargets(decs)
	if len(targets) == 0 {
		return fmt.Errorf("no device or order in %d preloaded callbacks", len(decs))
	}
	ingest, err := tr.next(int(b.o.QueryIngestRate*b.o.Window.Seconds()) + 1)
	if err != nil {
		return err
	}
	s, err := startStack(ctx, kind, dsn)
	if err != nil {
		return err
	}
	defer s.close()

	b.logf("queries: %s: storing %d callbacks, then GETs of %d devices and orders", kind, len(decs), len(targets))
	last, err := preload(ctx, s, decs)
	if err != nil {
		return err
	}
	if err := s.waitCaughtUp(ctx, last, 5*time.Minute); err != nil {
		return err
	}
	client, err := newLoadClient(s.url, 512)
	if err != nil {
		return err
	}
	defer client.close()
	for _, p := range []string{targets[0], targets[len(targets)-1]} {
		if status, err := client.do(ctx, http.MethodGet, p, nil); err != nil || status != http.StatusOK {
			return fmt.Errorf("GET %s: status %d, %w", p, status, err)
		}
	}
	runQueries(ctx, client, targets, b.o.QueryRate, b.o.Warmup) // connections up, caches warm
	b.logf("queries: %s: %.0f GETs/s for %s, no ingest", kind, b.o.QueryRate, b.o.Window)
	idle := runQueries(ctx, client, targets, b.o.QueryRate, b.o.Window)

	b.logf("queries: %s: %.0f GETs/s while posting %.0f callbacks/s", kind, b.o.QueryRate, b.o.QueryIngestRate)
	ingestClient, err := newLoadClient(s.url, 512)
	if err != nil {
		return err
	}
	defer ingestClient.close()
	var ok, okInWindow, failed atomic.Int64
	windowEnd := time.Now().Add(b.o.Window)
	var ingestSkipped int
	var wg sync.WaitGroup
	// Callbacks still queued 5 s after the window are abandoned (counted
	// as failed), so an overloaded server cannot stretch the run.
	ingestCtx, cancelIngest := context.WithTimeout(ctx, b.o.Window+5*time.Second)
	defer cancelIngest()
	wg.Go(func() {
		_, ingestSkipped = paced(ingestCtx, b.o.QueryIngestRate, b.o.Window, 4096, func(i int, _ time.Time) {
			d := ingest[i%len(ingest)]
			if status, err := ingestClient.do(ingestCtx, http.MethodPost, callbackPath(d), d.Body); err == nil && status == http.StatusOK {
				ok.Add(1)
				if time.Now().Before(windowEnd) {
					okInWindow.Add(1)
				}
			} else {
				failed.Add(1)
			}
		})
	})
	hits0, misses0 := s.runner.DocCache().Stats()
	busy := runQueries(ctx, client, targets, b.o.QueryRate, b.o.Window)
	hits, misses := s.runner.DocCache().Stats()
	hits, misses = hits-hits0, misses-misses0
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if busy.res.Requests == 0 || busy.res.failures() > 0 || idle.res.Requests == 0 || idle.res.failures() > 0 {
		return fmt.Errorf("GETs failed: under ingest %s; without %s", busy.res.statusSummary(), idle.res.statusSummary())
	}
	prefix := "queries." + kind + "."
	ingestRate := float64(okInWindow.Load()) / b.o.Window.Seconds()
	note := fmt.Sprintf("%d GETs (%d devices and orders, %d not sent: too many in flight) at %.0f/s while callbacks were answered 200 "+
		"at %.0f/s within the window (%.0f/s asked; %d answered 200 in all, %d failed or abandoned 5 s after the window, %d not sent: 4,096 in flight); "+
		"without ingest: %d GETs, p50 %s, p99 %s; under ingest %d GETs answered from the document cache, %d read from the database",
		busy.res.Requests, len(targets), busy.skipped, float64(busy.sent)/b.o.Window.Seconds(),
		ingestRate, b.o.QueryIngestRate, ok.Load(), failed.Load(), ingestSkipped, idle.res.Requests,
		fmtMS(idle.res.Lat.quantile(0.5)), fmtMS(idle.res.Lat.quantile(0.99)), hits, misses)
	b.figs.set(prefix+"p99", ms(busy.res.Lat.quantile(0.99)), num(ms(idle.res.Lat.quantile(0.99))), note)
	b.figs.set(prefix+"p50", ms(busy.res.Lat.quantile(0.5)), num(ms(idle.res.Lat.quantile(0.5))), "")
	if ingestRate < 0.95*b.o.QueryIngestRate {
		b.figs.require(prefix+"p99", false, fmt.Sprintf("ingest reached only %.0f/s of %.0f/s", ingestRate, b.o.QueryIngestRate))
	}
	b.logf("queries: %s p50 %s p99 %s under ingest (%.0f callbacks/s; cache %d hits, %d misses); idle p99 %s", kind,
		fmtMS(busy.res.Lat.quantile(0.5)), fmtMS(busy.res.Lat.quantile(0.99)), ingestRate, hits, misses,
		fmtMS(idle.res.Lat.quantile(0.99)))
	return nil
}

// preload appends callbacks through the appender with 64 callers (not
// timed) and returns the last position written.
func preload(ctx context.Context, s *stack, decs []decoded) (domain.Position, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var last domain.Position
	var firstErr error
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(decs) || ctx.Err() != nil {
					return
				}
				res, err := s.app.Append(ctx, decs[i].appendRequest(time.Now()))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, p := range res.Positions {
					if last.Less(p) {
						last = p
					}
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return last, fmt.Errorf("preload: %w", firstErr)
	}
	return last, ctx.Err()
}

// runQueries GETs the targets in turn at rate per second for window.
func runQueries(ctx context.Context, client *loadClient, targets []string, rate float64, window time.Duration) queryRun {
	var mu sync.Mutex
	var t tally
	start := time.Now()
	// No cap worth the name: a GET is never dropped, so time spent waiting
	// for a connection or the server counts in its latency.
	sent, skipped := paced(ctx, rate, window, 1<<16, func(i int, due time.Time) {
		// a stride through the list, so consecutive GETs hit different rows
		p := targets[(i*7919)%len(targets)]
		status, err := client.do(ctx, http.MethodGet, p, nil)
		done := time.Now()
		mu.Lock()
		t.record(status, err, done.Sub(due), done)
		mu.Unlock()
	})
	return queryRun{res: merge([]tally{t}, start), sent: sent, skipped: skipped}
}
