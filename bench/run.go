package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// bench is one run: its options, its figures and what the sections share.
type bench struct {
	o     options
	figs  *figures
	sizes map[string]any
	tmp   string // SQLite files and built binaries; removed at the end

	pg       *pgServer // nil when PostgreSQL is unreachable
	pgReason string    // why PostgreSQL figures are not measured

	loaded []loadedStore // stores holding the imported events, for the rebuild

	logMu sync.Mutex
	logw  io.Writer
	start time.Time
}

func (b *bench) logf(format string, args ...any) {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	fmt.Fprintf(b.logw, "bench %6.1fs  %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// run measures every selected figure and writes the report to o.OutDir.
func run(ctx context.Context, o options, logw io.Writer) (*Report, error) {
	b := &bench{o: o, figs: newFigures(), sizes: map[string]any{}, logw: logw, start: time.Now()}
	rep := &Report{GeneratedAt: b.start.UTC(), Quick: o.Quick, Machine: machineFacts(),
		Sections: strings.Join(sortedKeys(o.Only), ",")}
	tmp, err := os.MkdirTemp("", "tidemark-bench-*")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	b.tmp = tmp
	defer os.RemoveAll(tmp) //nolint:errcheck // a temporary directory; nothing to do if it stays

	if b.pg, err = connectPG(ctx, o.PGAdmin); err != nil {
		b.pgReason = err.Error()
		rep.Machine.Postgres = "not reachable: " + err.Error()
		b.logf("%s: PostgreSQL figures will be reported as not measured", err)
	} else {
		rep.Machine.Postgres = b.pg.version + " at " + redact(o.PGAdmin)
		defer func() {
			if err := b.pg.dropAll(); err != nil {
				b.logf("dropping the benchmark databases: %v", err)
			}
		}()
	}
	b.recordSizes()

	steps := []struct {
		name string
		fn   func(context.Context)
	}{
		{"ingest", b.benchIngest},
		{"import", func(ctx context.Context) { b.loadEvents(ctx, true) }},
		{"rebuild", b.benchRebuildStep},
		{"lag", b.benchLag},
		{"queries", b.benchQueries},
		{"footprint", b.benchFootprint},
	}
	for _, s := range steps {
		prefix := s.name + "."
		switch {
		case !o.selected(s.name):
			b.figs.skipPrefix(prefix, "section not selected (-only "+strings.Join(sortedKeys(o.Only), ",")+")")
		case ctx.Err() != nil:
			b.figs.skipPrefix(prefix, "interrupted before this section")
		default:
			t0 := time.Now()
			s.fn(ctx)
			b.logf("%s done in %s", s.name, time.Since(t0).Round(time.Second))
		}
	}
	b.releaseLoaded()
	if o.selected("gobench") {
		b.loadGoBench(rep)
	} else {
		rep.GoBenchSource = o.GoBench
		rep.GoBenchNote = "Not included: section not selected (-only)."
	}

	rep.Figures = b.figs.list
	rep.Sizes = b.sizes
	rep.Machine.LoadEnd = loadAverage()
	rep.Seconds = time.Since(b.start).Seconds()
	if err := rep.write(o.OutDir); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// benchRebuildStep rebuilds from the events the import section loaded,
// loading them first (not measured as import) when it did not run.
func (b *bench) benchRebuildStep(ctx context.Context) {
	if !b.o.selected("import") {
		b.loadEvents(ctx, false)
	}
	b.benchRebuild(ctx)
	b.releaseLoaded()
}

// releaseLoaded drops the databases and files holding the imported events.
func (b *bench) releaseLoaded() {
	for _, ls := range b.loaded {
		if ls.cleanup != nil {
			ls.cleanup()
		}
		if ls.kind == kindSQLite {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(ls.dsn + suffix)
			}
		}
	}
	b.loaded = nil
}

func (b *bench) recordSizes() {
	o := b.o
	b.sizes["mode"] = map[bool]string{true: "quick", false: "full"}[o.Quick]
	b.sizes["bulk import / rebuild events (requested)"] = o.Events
	b.sizes["ingest: connections"] = o.Conns
	b.sizes["ingest: pre-generated deliveries per server"] = o.IngestPool
	b.sizes["ingest: warm-up (not counted)"] = o.Warmup.String()
	b.sizes["measured window (ingest, live lag, queries)"] = o.Window.String()
	b.sizes["live lag: append rate (events/s)"] = o.LagRate
	b.sizes["queries: GET rate (req/s)"] = o.QueryRate
	b.sizes["queries: ingest rate (callbacks/s)"] = o.QueryIngestRate
	b.sizes["queries: callbacks stored before"] = o.QueryPreload
	b.sizes["import batch (events per Import call)"] = o.ImportBatch
	b.sizes["footprint: settle before reading RSS"] = o.Settle.String()
	b.sizes["traffic"] = "domain/simulate: 2,000 car-wash devices, 1,000 energy orders at a time, 10% reordered, no bad input, no retries"
}
