package main

import (
	"io"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	env := map[string]string{"TIDEMARK_BENCH_EVENTS": "250_000", "TIDEMARK_TEST_DATABASE_URL": "postgres://x@h/db"}
	getenv := func(k string) string { return env[k] }
	o, err := parseOptions(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Events != 250000 || o.PGAdmin != "postgres://x@h/db" || o.Window != 10*time.Second || !o.selected("rebuild") ||
		o.RebuildMemLimitMB != 280 {
		t.Errorf("defaults with env: %+v", o)
	}
	o, err = parseOptions([]string{"-quick", "-events", "500", "-only", "lag, queries"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Events != 500 || o.Window != 2*time.Second || !o.selected("lag") || o.selected("ingest") {
		t.Errorf("quick: %+v", o)
	}
	env["TIDEMARK_BENCH_MEMLIMIT_MB"] = "200"
	if o, _ := parseOptions(nil, getenv, io.Discard); o.RebuildMemLimitMB != 200 {
		t.Errorf("TIDEMARK_BENCH_MEMLIMIT_MB ignored: %d", o.RebuildMemLimitMB)
	}
	if o, _ := parseOptions([]string{"-rebuild-memlimit-mb", "0"}, getenv, io.Discard); o.RebuildMemLimitMB != 0 {
		t.Errorf("-rebuild-memlimit-mb 0 ignored: %d", o.RebuildMemLimitMB)
	}
	env["TIDEMARK_BENCH_DATABASE_URL"] = "postgres://bench@h/db"
	if o, _ := parseOptions(nil, getenv, io.Discard); o.PGAdmin != "postgres://bench@h/db" {
		t.Errorf("TIDEMARK_BENCH_DATABASE_URL not preferred: %s", o.PGAdmin)
	}
	for _, bad := range [][]string{{"-only", "ingest,nope"}, {"-events", "-3"}, {"extra"}} {
		if _, err := parseOptions(bad, getenv, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	env["TIDEMARK_BENCH_EVENTS"] = "many"
	if _, err := parseOptions(nil, getenv, io.Discard); err == nil {
		t.Error("a bad TIDEMARK_BENCH_EVENTS was accepted")
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable": "postgres://postgres@127.0.0.1:5432/tidemark_bench_x?sslmode=disable",
		"host=/tmp user=postgres":                                     "host=/tmp user=postgres dbname=tidemark_bench_x",
	} {
		got, err := withDatabase(in, "tidemark_bench_x")
		if err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
