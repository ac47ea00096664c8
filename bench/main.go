package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
)

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if dir := os.Getenv("TIDEMARK_BENCH_CPUPROFILE"); dir != "" { // a debugging aid (doc.go)
		if f, err := os.Create(filepath.Join(dir, "main.pprof")); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, stderr)
	if rep != nil {
		printSummary(stdout, rep, o.OutDir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// printSummary lists each figure and its verdict on the terminal.
func printSummary(w io.Writer, rep *Report, dir string) {
	fmt.Fprintf(w, "\nTidemark bench (%d cores, GOMAXPROCS %d, load %s → %s), %.0fs:\n",
		rep.Machine.NumCPU, rep.Machine.GOMAXPROCS, rep.Machine.LoadStart, rep.Machine.LoadEnd, rep.Seconds)
	for _, f := range rep.Figures {
		measured := "—"
		if f.Measured != nil {
			measured = fmtNum(*f.Measured) + " " + f.Unit
		}
		ratio := ""
		if f.Ratio != nil {
			ratio = fmt.Sprintf(" (%.2f× baseline)", *f.Ratio)
		}
		verdict := f.Verdict
		if f.Reason != "" {
			verdict += ": " + f.Reason
		}
		fmt.Fprintf(w, "  %-26s %16s%s  [%s]\n", f.ID, measured, ratio, tail(verdict, 120))
	}
	fmt.Fprintf(w, "report: %s and %s\n", filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json"))
}
