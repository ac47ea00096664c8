// Command bench measures Tidemark's performance figures (quality.md,
// "Performance") in one run and writes them, each beside a baseline
// measured in the same run and its target, to bench/out/report.md and
// bench/out/report.json. `make bench` runs it after the Go benchmarks and
// folds their events/s lines into the report.
//
// Every figure comes from the run itself: a figure that could not be
// measured (PostgreSQL unreachable, a step failed, not selected with
// -only) is reported as "not measured" with the reason, never filled in.
//
// Usage: go run ./bench [-quick] [-events N] [-only ingest,import,...]
package main
