// Command bench measures Tidemark's performance figures (quality.md,
// "Performance") in one run and writes them, each beside a baseline
// measured in the same run and its target, to bench/out/report.md and
// bench/out/report.json. `make bench` runs it after the Go benchmarks and
// folds their output (bench/out/gobench.txt) into the report.
//
// Every figure comes from the run itself: a figure that could not be
// measured (PostgreSQL unreachable, a step failed, not selected with
// -only, or a store left out by -stores) is reported as "not measured" with the reason, never filled in.
//
// The load generators drive servers with loadClient, a minimal HTTP/1.1
// client, so that on a small machine they take as little as possible of
// the cores the measured server needs (loadclient.go says why).
//
// Usage:
//
//	go run ./bench [-quick] [-events N] [-duration D] [-only ingest,import,rebuild,lag,queries,footprint,gobench] [-stores sqlite,postgres] [-out DIR]
//
// Environment: TIDEMARK_BENCH_EVENTS (events imported and rebuilt,
// default 1,000,000); TIDEMARK_BENCH_DATABASE_URL, else
// TIDEMARK_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres:
// the PostgreSQL server on which fresh databases tidemark_bench_* are
// created and dropped at the end; TIDEMARK_BENCH_KEEP=1 keeps the
// PostgreSQL databases (their names are logged), to profile against them;
// TIDEMARK_BENCH_CPUPROFILE=DIR writes a CPU profile of the run (the
// in-process servers and load generators) to DIR/main.pprof and of each
// rebuild and ReadAll child process to DIR/MODE-KIND.pprof; TIDEMARK_BENCH_TRACE=1
// prints a rebuild's phases with their times; TIDEMARK_BENCH_HEAPPROFILE=FILE
// writes the rebuild's heap profile when its pass over the log ends.
package main
