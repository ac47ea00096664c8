package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tidemark/tidemark/bench/internal/echo"
	"github.com/tidemark/tidemark/domain/simulate"
)

// startEcho serves the bare Go JSON echo server on a loopback port.
func startEcho() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: echo.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// benchIngest measures durable callback ingest of the real server on
// SQLite and PostgreSQL, each right after a run of the echo server, all
// driven by the same load generator with the same pre-generated
// deliveries; each server's ratio is to the echo run just before it, so
// that the machine's noise hits both alike.
func (b *bench) benchIngest(ctx context.Context) {
	b.logf("ingest: generating %d deliveries", b.o.IngestPool)
	pool, err := newTraffic(1).next(b.o.IngestPool)
	if err != nil {
		b.figs.skipPrefix("ingest.", "generating traffic: "+err.Error())
		return
	}
	for _, kind := range []string{kindSQLite, kindPostgres} {
		prefix := "ingest." + kind + "."
		if !b.o.measured(kind) {
			b.figs.skipPrefix(prefix, errStoreNotSelected.Error())
			continue
		}
		if ctx.Err() != nil {
			b.figs.skipPrefix(prefix, "interrupted")
			continue
		}
		dsn, cleanup, err := b.database(ctx, kind, "ingest")
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
			continue
		}
		echoRate, echoP50, echoP99, echoNote := b.echoRun(ctx, pool)
		r, err := b.ingestOne(ctx, kind, dsn, pool)
		cleanup()
		if err != nil {
			b.figs.skipPrefix(prefix, err.Error())
			continue
		}
		if r.Requests == 0 || r.failures() > 0 {
			b.figs.skipPrefix(prefix, "callbacks failed: "+r.statusSummary())
			continue
		}
		note := fmt.Sprintf("%d callbacks answered 200 in %s by %d connections (%s). %s", r.Requests,
			r.Elapsed.Round(time.Millisecond), b.o.Conns, r.statusSummary(), echoNote)
		if r.Exhausted {
			note += fmt.Sprintf(" The %d pre-generated deliveries ran out before the window ended; the rate is over the time they took.", len(pool))
		}
		b.figs.set(prefix+"rate", r.rate(), echoRate, note)
		b.figs.set(prefix+"p50", ms(r.Lat.quantile(0.5)), echoP50, "")
		b.figs.set(prefix+"p99", ms(r.Lat.quantile(0.99)), echoP99, "")
		b.logf("ingest: %s %.0f/s p50 %.2fms p99 %.2fms", kind, r.rate(), ms(r.Lat.quantile(0.5)), ms(r.Lat.quantile(0.99)))
	}
}

// echoRun drives the echo server; nil figures when it failed.
func (b *bench) echoRun(ctx context.Context, pool []simulate.Delivery) (rate, p50, p99 *float64, note string) {
	echoURL, stopEcho, err := startEcho()
	if err != nil {
		return nil, nil, nil, "Echo server baseline failed: " + err.Error()
	}
	b.logf("ingest: echo server, %d connections, %s", b.o.Conns, b.o.Window)
	er := closedLoop(ctx, echoURL, pool, true, b.o.Conns, b.o.Warmup, b.o.Window)
	stopEcho()
	note = fmt.Sprintf("Echo server run just before: %d requests, %.0f/s, p50 %s, p99 %s (%s).", er.Requests, er.rate(),
		fmtMS(er.Lat.quantile(0.5)), fmtMS(er.Lat.quantile(0.99)), er.statusSummary())
	if er.Requests == 0 || er.failures() > 0 {
		return nil, nil, nil, note
	}
	b.logf("ingest: echo %.0f/s p50 %s p99 %s", er.rate(), fmtMS(er.Lat.quantile(0.5)), fmtMS(er.Lat.quantile(0.99)))
	return num(er.rate()), num(ms(er.Lat.quantile(0.5))), num(ms(er.Lat.quantile(0.99))), note
}

func (b *bench) ingestOne(ctx context.Context, kind, dsn string, pool []simulate.Delivery) (loadResult, error) {
	s, err := startStack(ctx, kind, dsn)
	if err != nil {
		return loadResult{}, err
	}
	b.logf("ingest: tidemark on %s, %d connections, %s", kind, b.o.Conns, b.o.Window)
	r := closedLoop(ctx, s.url, pool, false, b.o.Conns, b.o.Warmup, b.o.Window)
	if err := s.close(); err != nil {
		return r, fmt.Errorf("stopping the server: %w", err)
	}
	return r, ctx.Err()
}

// database gives a fresh database of kind for one figure and its cleanup:
// a new PostgreSQL database, or a SQLite file in the run's directory.
func (b *bench) database(ctx context.Context, kind, what string) (string, func(), error) {
	if kind == kindSQLite {
		return filepath.Join(b.tmp, what+".db"), func() {}, nil
	}
	if b.pg == nil {
		return "", nil, errors.New(b.pgReason)
	}
	u, err := b.pg.create(ctx, what)
	if err != nil {
		return "", nil, err
	}
	return u, func() {
		if os.Getenv("TIDEMARK_BENCH_KEEP") != "" { // a debugging aid: profile against the loaded data later
			b.logf("kept %s database %s", what, redact(u))
			return
		}
		if err := b.pg.drop(context.WithoutCancel(ctx), u); err != nil {
			b.logf("%v", err)
		}
	}, nil
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.2f ms", ms(d)) }
