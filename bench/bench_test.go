package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the rebuild's child process, as
// the bench binary does.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

const goBenchFixture = `goos: linux
goarch: amd64
pkg: github.com/tidemark/tidemark/projections
cpu: AMD EPYC
BenchmarkRebuild/postgres-2         	       1	5069384292 ns/op	     19726 events/s	        74.50 peak-RSS-MB
PASS
ok  	github.com/tidemark/tidemark/projections	12.345s
`

// quickRun runs the bench with tiny sizes into a temporary directory and
// returns the decoded report.json and the report.md text.
func quickRun(t *testing.T, env map[string]string, args ...string) (Report, string) {
	t.Helper()
	dir := t.TempDir()
	gb := filepath.Join(dir, "gobench.txt")
	if err := os.WriteFile(gb, []byte(goBenchFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-quick", "-events", "4000", "-duration", "1s", "-out", dir, "-gobench", gb}, args...)
	o, err := parseOptions(args, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.Warmup, o.QueryPreload, o.IngestPool = 200*time.Millisecond, 1000, 6000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := run(ctx, o, testWriter{t}); err != nil {
		t.Fatalf("run: %v", err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	return rep, string(md)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkRows asserts that the report has every row once, each with a
// finite number and a verdict, or "not measured" and a reason.
func checkRows(t *testing.T, rep Report, md string) map[string]Figure {
	t.Helper()
	byID := map[string]Figure{}
	for _, f := range rep.Figures {
		if _, dup := byID[f.ID]; dup {
			t.Errorf("figure %s twice", f.ID)
		}
		byID[f.ID] = *f
		switch f.Verdict {
		case VerdictPass, VerdictShort, VerdictInfo:
			if f.Measured == nil || math.IsNaN(*f.Measured) || math.IsInf(*f.Measured, 0) || *f.Measured < 0 {
				t.Errorf("%s: verdict %s without a valid number: %v", f.ID, f.Verdict, f.Measured)
			}
		case VerdictNotMeasured:
			if f.Measured != nil || strings.TrimSpace(f.Reason) == "" {
				t.Errorf("%s: not measured needs no number and a reason: %v %q", f.ID, f.Measured, f.Reason)
			}
		default:
			t.Errorf("%s: verdict %q", f.ID, f.Verdict)
		}
		if !strings.Contains(md, "| "+f.Name+" | ") {
			t.Errorf("report.md has no row for %s", f.Name)
		}
	}
	for _, s := range figureSpecs {
		if _, ok := byID[s.id]; !ok {
			t.Errorf("figure %s missing", s.id)
		}
	}
	if rep.Machine.NumCPU < 1 || rep.Machine.GoVersion == "" || rep.Machine.CPUModel == "" {
		t.Errorf("machine facts: %+v", rep.Machine)
	}
	return byID
}

func measured(t *testing.T, figs map[string]Figure, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if f := figs[id]; f.Measured == nil {
			t.Errorf("%s not measured: %s", id, f.Reason)
		}
	}
}

// TestQuickRun runs every section at tiny sizes on SQLite and PostgreSQL.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark at tiny sizes (about a minute)")
	}
	o, err := parseOptions(nil, os.Getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	pgErr := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := connectPG(ctx, o.PGAdmin)
		return err
	}()

	rep, md := quickRun(t, nil)
	figs := checkRows(t, rep, md)
	measured(t, figs, "ingest.sqlite.rate", "ingest.sqlite.p99", "import.sqlite.rate", "rebuild.sqlite.rate",
		"rebuild.sqlite.peak_rss", "lag.sqlite.p99", "queries.sqlite.p99", "footprint.idle_rss", "footprint.binary_size")
	pgIDs := []string{"ingest.postgres.rate", "ingest.postgres.p50", "ingest.postgres.p99", "import.postgres.rate",
		"rebuild.postgres.rate", "rebuild.postgres.peak_rss", "rebuild.postgres.rate_gc_default",
		"rebuild.postgres.peak_rss_gc_default", "lag.postgres.p99", "lag.postgres.p50",
		"queries.postgres.p99", "queries.postgres.p50"}
	if pgErr != nil {
		t.Logf("PostgreSQL unreachable (%v): checking its figures say so", pgErr)
		for _, id := range pgIDs {
			if f := figs[id]; f.Verdict != VerdictNotMeasured || !strings.Contains(f.Reason, "unreachable") {
				t.Errorf("%s: %s %q, want not measured: unreachable", id, f.Verdict, f.Reason)
			}
		}
	} else {
		measured(t, figs, pgIDs...)
		for _, id := range []string{"ingest.postgres.rate", "import.postgres.rate", "rebuild.postgres.rate"} {
			if f := figs[id]; f.Baseline == nil || f.Ratio == nil {
				t.Errorf("%s has no baseline measured beside it", id)
			}
		}
	}
	if f := figs["rebuild.sqlite.rate"]; f.Measured != nil && !strings.Contains(f.Note, "4000 events") {
		t.Errorf("rebuild note does not count the 4000 imported events: %s", f.Note)
	}
	if f := figs["rebuild.sqlite.peak_rss"]; f.Measured != nil && !strings.Contains(f.Note, "MemoryLimit 280 MB") {
		t.Errorf("rebuild peak RSS note does not name the heap limit: %s", f.Note)
	}
	if len(rep.GoBench) != 1 || rep.GoBench[0].EventsPerSec == nil || *rep.GoBench[0].EventsPerSec != 19726 {
		t.Errorf("go benchmarks: %+v", rep.GoBench)
	}
	if !strings.Contains(md, "## Go benchmarks") || !strings.Contains(md, "| projections BenchmarkRebuild/postgres-2 | 19,726 |") {
		t.Errorf("report.md lacks the Go benchmark line:\n%s", md)
	}
}

// TestUnreachablePostgres: PostgreSQL figures are reported as not
// measured with the reason, SQLite ones are still measured, and sections
// left out by -only say so.
func TestUnreachablePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a few thousand events")
	}
	env := map[string]string{"TIDEMARK_BENCH_DATABASE_URL": "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2"}
	rep, md := quickRun(t, env, "-only", "import,gobench", "-events", "2000")
	figs := checkRows(t, rep, md)
	if f := figs["import.postgres.rate"]; f.Verdict != VerdictNotMeasured || !strings.Contains(f.Reason, "unreachable") {
		t.Errorf("import.postgres.rate: %s %q", f.Verdict, f.Reason)
	}
	measured(t, figs, "import.sqlite.rate")
	for _, id := range []string{"ingest.sqlite.rate", "rebuild.postgres.rate", "footprint.idle_rss"} {
		if f := figs[id]; f.Verdict != VerdictNotMeasured || !strings.Contains(f.Reason, "not selected") {
			t.Errorf("%s: %s %q, want not selected", id, f.Verdict, f.Reason)
		}
	}
	if !strings.Contains(rep.Machine.Postgres, "not reachable") {
		t.Errorf("machine postgres: %q", rep.Machine.Postgres)
	}
}
