package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// goBenchResult is what the Go benchmarks' output says.
type goBenchResult struct {
	lines    []GoBench
	failures []string // FAIL lines: packages or benchmarks that failed
	skipped  int
}

// parseGoBench reads `go test -bench` output: a "pkg:" line names the
// package of the result lines after it; a result line is the benchmark's
// name, its iterations and value/unit pairs.
func parseGoBench(r io.Reader) (goBenchResult, error) {
	var res goBenchResult
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(trimmed, "--- FAIL:"), strings.HasPrefix(line, "FAIL\t"):
			res.failures = append(res.failures, trimmed)
		case strings.HasPrefix(trimmed, "--- SKIP:"):
			res.skipped++
		case strings.HasPrefix(line, "Benchmark"):
			if g, ok := parseBenchLine(pkg, line); ok {
				res.lines = append(res.lines, g)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read go benchmark output: %w", err)
	}
	return res, nil
}

func parseBenchLine(pkg, line string) (GoBench, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return GoBench{}, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return GoBench{}, false
	}
	g := GoBench{Package: shortPkg(pkg), Name: f[0], Metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return GoBench{}, false
		}
		g.Metrics[f[i+1]] = v
	}
	if v, ok := g.Metrics["events/s"]; ok {
		g.EventsPerSec = num(v)
	}
	return g, true
}

func shortPkg(pkg string) string {
	return strings.TrimPrefix(pkg, "github.com/tidemark/tidemark/")
}

// staleGoBench is how much older than the run the Go benchmarks' output may be.
const staleGoBench = 15 * time.Minute

// loadGoBench folds the Go benchmarks' output into the report.
func (b *bench) loadGoBench(rep *Report) {
	rep.GoBenchSource = b.o.GoBench
	f, err := os.Open(b.o.GoBench)
	if err != nil {
		rep.GoBenchNote = "Not measured: " + err.Error() + " (make bench writes it before running this program)."
		return
	}
	defer f.Close()
	// make bench writes the file just before this program starts; an older
	// one belongs to another run and is left out.
	if fi, err := f.Stat(); err == nil && fi.ModTime().Before(b.start.Add(-staleGoBench)) {
		rep.GoBenchNote = fmt.Sprintf("Not included: the file was written at %s, more than %s before this run started "+
			"(run `make bench` to measure both together).", fi.ModTime().UTC().Format(time.RFC3339), staleGoBench)
		return
	}
	res, err := parseGoBench(f)
	if err != nil {
		rep.GoBenchNote = "Not measured: " + err.Error()
		return
	}
	rep.GoBench = res.lines
	var notes []string
	if len(res.lines) == 0 {
		notes = append(notes, "Not measured: no benchmark result lines in the file.")
	}
	if res.skipped > 0 {
		notes = append(notes, fmt.Sprintf("%d benchmarks skipped (e.g. KurrentDB not configured).", res.skipped))
	}
	if len(res.failures) > 0 {
		notes = append(notes, fmt.Sprintf("%d failures: %s.", len(res.failures), strings.Join(res.failures, "; ")))
	}
	rep.GoBenchNote = strings.Join(notes, " ")
}
