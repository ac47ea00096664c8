package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/projections"
)

// lagSample is an appended event waiting to show in the read models.
type lagSample struct {
	pos         domain.Position
	projections []string // the projections that apply the event's type
	committed   time.Time
}

// lagResult is one live-lag run.
type lagResult struct {
	lag, commit       latencies
	sent, skipped     int
	failed, invisible int
	firstErr          string
}

// benchLag appends at LagRate events/s through the group-commit appender
// of a running stack and measures, for every event, the time from its
// commit (Append returned) to the moment every projection that applies it
// reports a position at or past it (Status is updated after the
// projection's batch commits, so the event is then readable).
func (b *bench) benchLag(ctx context.Context) {
	for _, kind := range []string{kindSQLite, kindPostgres} {
		prefix := "lag." + kind + "."
		if !b.o.measured(kind) {
			b.figs.skipPrefix(prefix, errStoreNotSelected.Error())
			continue
		}
		if ctx.Err() != nil {
			b.figs.skipPrefix(prefix, "interrupted")
			continue
		}
		dsn, cleanup, err := b.database(ctx, kind, "lag")
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
			continue
		}
		r, err := b.lagOne(ctx, kind, dsn)
		cleanup()
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
			continue
		}
		if len(r.lag) == 0 || r.failed > 0 {
			b.figs.skipPrefix(prefix, fmt.Sprintf("%d appends failed (first: %s); %d visible", r.failed, r.firstErr, len(r.lag)))
			continue
		}
		window := b.o.Window.Seconds()
		note := fmt.Sprintf("%d events appended at %.0f/s (target rate %.0f/s) over %s, %d not sent (4,096 appends in flight); "+
			"lag measured for every event; append→commit p50 %s, p99 %s", r.sent, float64(r.sent)/window, b.o.LagRate,
			b.o.Window, r.skipped, fmtMS(r.commit.quantile(0.5)), fmtMS(r.commit.quantile(0.99)))
		if r.invisible > 0 {
			note += fmt.Sprintf("; %d events not visible 30 s after the last append (counted at 30 s)", r.invisible)
		}
		b.figs.set(prefix+"p99", ms(r.lag.quantile(0.99)), num(ms(r.commit.quantile(0.99))), note)
		b.figs.set(prefix+"p50", ms(r.lag.quantile(0.5)), num(ms(r.commit.quantile(0.5))), "")
		if achieved := float64(r.sent) / window; achieved < 0.95*b.o.LagRate {
			b.figs.require(prefix+"p99", false, fmt.Sprintf("appends reached only %.0f/s of %.0f/s", achieved, b.o.LagRate))
		}
		b.logf("lag: %s p50 %s p99 %s (%d events)", kind, fmtMS(r.lag.quantile(0.5)), fmtMS(r.lag.quantile(0.99)), len(r.lag))
	}
}

func (b *bench) lagOne(ctx context.Context, kind, dsn string) (lagResult, error) {
	n := int(b.o.LagRate*b.o.Window.Seconds()) + 1
	ds, err := newTraffic(4).next(n)
	if err != nil {
		return lagResult{}, err
	}
	decs, err := decodeAll(ds)
	if err != nil {
		return lagResult{}, err
	}
	handlers := map[string][]string{} // event type → projections applying it
	for _, d := range decs {
		if _, ok := handlers[d.acc.Type]; !ok {
			for _, p := range projections.Default() {
				if p.Handles(d.acc.Type) {
					handlers[d.acc.Type] = append(handlers[d.acc.Type], p.Name())
				}
			}
		}
	}
	s, err := startStack(ctx, kind, dsn)
	if err != nil {
		return lagResult{}, err
	}
	defer s.close()
	b.logf("lag: %s, %.0f events/s for %s", kind, b.o.LagRate, b.o.Window)

	var r lagResult
	samples := make(chan lagSample, n)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		r.lag, r.invisible = watchVisible(s.runner, samples)
	}()
	var mu sync.Mutex
	r.sent, r.skipped = paced(ctx, b.o.LagRate, b.o.Window, 4096, func(i int, _ time.Time) {
		d := decs[i%len(decs)]
		t0 := time.Now()
		res, err := s.app.Append(ctx, d.appendRequest(t0))
		committed := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if err != nil || len(res.Positions) != 1 {
			r.failed++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprint(err)
			}
			return
		}
		r.commit = append(r.commit, committed.Sub(t0))
		samples <- lagSample{pos: res.Positions[0], projections: handlers[d.acc.Type], committed: committed}
	})
	close(samples)
	<-watched
	return r, ctx.Err()
}

// watchVisible polls the runner's status every 0.5 ms and times each
// sample until every projection applying it has passed its position.
// Samples still pending 30 s after the last one arrived count as 30 s.
func watchVisible(runner *projections.Runner, samples <-chan lagSample) (latencies, int) {
	const giveUp = 30 * time.Second
	var lat latencies
	var pending []lagSample
	open := true
	var closedAt time.Time
	for open || len(pending) > 0 {
		for drained := false; open && !drained; {
			select {
			case sm, ok := <-samples:
				if !ok {
					open, closedAt = false, time.Now()
				} else {
					pending = append(pending, sm)
				}
			default:
				drained = true
			}
		}
		if len(pending) > 0 {
			pos := map[string]domain.Position{}
			for _, st := range runner.Status() {
				pos[st.Name] = st.Position
			}
			now := time.Now()
			kept := pending[:0]
			for _, sm := range pending {
				visible := true
				for _, p := range sm.projections {
					visible = visible && !pos[p].Less(sm.pos)
				}
				if visible {
					lat = append(lat, now.Sub(sm.committed))
				} else {
					kept = append(kept, sm)
				}
			}
			pending = kept
			if !open && time.Since(closedAt) > giveUp {
				for range pending {
					lat = append(lat, giveUp)
				}
				return lat, len(pending)
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return lat, 0
}
