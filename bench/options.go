package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sections of a run, in the order they run; -only picks some.
var sections = []string{"ingest", "import", "rebuild", "lag", "queries", "footprint", "gobench"}

// options are the sizes and places of a run. Defaults are the full run;
// -quick shrinks everything for a smoke run.
type options struct {
	Quick  bool
	Events int // events generated for bulk import and rebuilt
	Only   map[string]bool
	Stores []string // storage kinds measured, in order (default both)

	OutDir  string // report.md and report.json go here
	GoBench string // output of go test -bench to fold in
	Root    string // module root (cmd/tidemark and bench/echoserver are built from it)
	PGAdmin string // PostgreSQL server URL used to create the benchmark databases

	Conns      int           // keep-alive connections of the ingest load generator
	IngestPool int           // distinct deliveries generated for each ingest run
	Warmup     time.Duration // ingest warm-up, not counted
	Window     time.Duration // measured window of ingest, live lag and queries

	LagRate         float64 // events/s appended while measuring live lag
	QueryRate       float64 // GETs/s
	QueryIngestRate float64 // callbacks/s posted while querying
	QueryPreload    int     // deliveries stored before querying
	Settle          time.Duration
	ImportBatch     int
	// RebuildMemLimitMB is RebuildOptions.MemoryLimit of the rebuild
	// process (0: none). The default GC pacing is measured beside it.
	RebuildMemLimitMB int
}

func defaultOptions(quick bool) options {
	o := options{
		Quick: quick, Events: 1_000_000, Conns: 64, IngestPool: 200_000, Warmup: time.Second,
		Window: 10 * time.Second, LagRate: 5000, QueryRate: 2000, QueryIngestRate: 5000,
		QueryPreload: 20_000, Settle: 2 * time.Second, ImportBatch: 10_000, RebuildMemLimitMB: 280,
	}
	if quick {
		o.Events, o.IngestPool, o.Warmup, o.Window = 20_000, 12_000, 300*time.Millisecond, 2*time.Second
		o.QueryPreload, o.Settle, o.ImportBatch = 3000, 500*time.Millisecond, 5000
	}
	return o
}

// defaultPGAdmin is the PostgreSQL server when no variable names one.
const defaultPGAdmin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// parseOptions reads the flags and TIDEMARK_BENCH_* variables.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small sizes for a smoke run (seconds instead of minutes)")
	events := fs.Int("events", 0, "events bulk-imported and rebuilt (default 1,000,000, quick 20,000; env TIDEMARK_BENCH_EVENTS)")
	only := fs.String("only", "", "comma-separated sections to run: "+strings.Join(sections, ","))
	stores := fs.String("stores", kindSQLite+","+kindPostgres, "comma-separated storage kinds to measure")
	out := fs.String("out", "", "output directory (default bench/out under the module root)")
	gobench := fs.String("gobench", "", "go test -bench output to include (default OUT/gobench.txt)")
	window := fs.Duration("duration", 0, "measured window of ingest, live lag and queries (default 10s, quick 2s)")
	memLimit := fs.Int("rebuild-memlimit-mb", -1, "heap limit of the rebuild process in MB, 0 for none (default 280; env TIDEMARK_BENCH_MEMLIMIT_MB)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o := defaultOptions(*quick)
	if s := getenv("TIDEMARK_BENCH_EVENTS"); s != "" && *events == 0 {
		n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("TIDEMARK_BENCH_EVENTS=%q: want a positive integer", s)
		}
		o.Events = n
	}
	if *events < 0 {
		return o, fmt.Errorf("-events %d: want > 0", *events)
	}
	if *events > 0 {
		o.Events = *events
	}
	if s := getenv("TIDEMARK_BENCH_MEMLIMIT_MB"); s != "" && *memLimit < 0 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return o, fmt.Errorf("TIDEMARK_BENCH_MEMLIMIT_MB=%q: want an integer ≥ 0", s)
		}
		o.RebuildMemLimitMB = n
	}
	if *memLimit >= 0 {
		o.RebuildMemLimitMB = *memLimit
	}
	if *window < 0 {
		return o, fmt.Errorf("-duration %s: want > 0", *window)
	}
	if *window > 0 {
		o.Window = *window
	}
	o.Only = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(sections, s) {
			return o, fmt.Errorf("-only %q: unknown section (want %s)", s, strings.Join(sections, ","))
		}
		o.Only[s] = true
	}
	o.Stores = nil
	for _, s := range strings.Split(*stores, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if s != kindSQLite && s != kindPostgres {
			return o, fmt.Errorf("-stores %q: unknown storage kind (want %s,%s)", s, kindSQLite, kindPostgres)
		}
		if !slices.Contains(o.Stores, s) {
			o.Stores = append(o.Stores, s)
		}
	}
	if len(o.Stores) == 0 {
		return o, fmt.Errorf("-stores %q: name at least one storage kind", *stores)
	}
	root, err := moduleRoot()
	if err != nil {
		return o, err
	}
	o.Root = root
	o.OutDir = *out
	if o.OutDir == "" {
		o.OutDir = filepath.Join(root, "bench", "out")
	}
	o.GoBench = *gobench
	if o.GoBench == "" {
		o.GoBench = filepath.Join(o.OutDir, "gobench.txt")
	}
	o.PGAdmin = firstNonEmpty(getenv("TIDEMARK_BENCH_DATABASE_URL"), getenv("TIDEMARK_TEST_DATABASE_URL"), defaultPGAdmin)
	return o, nil
}

// selected reports whether a section runs.
func (o options) selected(section string) bool { return len(o.Only) == 0 || o.Only[section] }

// errStoreNotSelected is the note of figures of a kind -stores left out.
var errStoreNotSelected = errors.New("store not selected (-stores)")

// measured reports whether a storage kind is measured.
func (o options) measured(kind string) bool { return slices.Contains(o.Stores, kind) }

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// moduleRoot is the nearest directory at or above the working directory
// holding go.mod (the bench runs from the root under make, from bench/
// under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory: run from the Tidemark module")
		}
		dir = parent
	}
}
