package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Verdicts of a figure.
const (
	VerdictPass        = "pass"
	VerdictShort       = "short"
	VerdictInfo        = "info" // measured, no target of its own
	VerdictNotMeasured = "not measured"
)

// Target is what a figure must reach: each bound that is set applies.
type Target struct {
	Min      *float64 `json:"min,omitempty"`       // measured ≥ Min
	Max      *float64 `json:"max,omitempty"`       // measured ≤ Max
	MinRatio *float64 `json:"min_ratio,omitempty"` // measured / baseline ≥ MinRatio
	Text     string   `json:"text"`
}

func (t Target) none() bool { return t.Min == nil && t.Max == nil && t.MinRatio == nil }

// Figure is one row of the report.
type Figure struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Unit         string   `json:"unit"`
	Measured     *float64 `json:"measured"`
	Baseline     *float64 `json:"baseline"`
	BaselineName string   `json:"baseline_name,omitempty"`
	Ratio        *float64 `json:"ratio"`
	Target       Target   `json:"target"`
	Verdict      string   `json:"verdict"`
	Reason       string   `json:"reason,omitempty"` // why not measured, or which bound was missed
	Note         string   `json:"note,omitempty"`
}

func num(v float64) *float64 { return &v }

// GoBench is one line of the Go benchmarks' output.
type GoBench struct {
	Package      string             `json:"package"`
	Name         string             `json:"name"`
	EventsPerSec *float64           `json:"events_per_sec"`
	Metrics      map[string]float64 `json:"metrics"`
}

// Report is the whole output of a run.
type Report struct {
	GeneratedAt   time.Time      `json:"generated_at"`
	Seconds       float64        `json:"seconds"` // the run's wall time
	Quick         bool           `json:"quick"`
	Sections      string         `json:"sections,omitempty"` // the -only selection, if any
	Machine       Machine        `json:"machine"`
	Sizes         map[string]any `json:"sizes"`
	Figures       []*Figure      `json:"figures"`
	GoBench       []GoBench      `json:"go_benchmarks"`
	GoBenchSource string         `json:"go_benchmarks_source"`
	GoBenchNote   string         `json:"go_benchmarks_note,omitempty"`
}

// figureSpec declares a row: every report has every row, measured or not.
type figureSpec struct {
	id, name, unit, baselineName string
	target                       Target
}

func atLeast(v float64, text string) Target { return Target{Min: &v, Text: text} }
func atMost(v float64, text string) Target  { return Target{Max: &v, Text: text} }

// figureSpecs are the rows of quality.md's performance table (targets are
// for PostgreSQL unless the row says SQLite) plus informative ones.
var figureSpecs = []figureSpec{
	{"ingest.postgres.rate", "Durable callback ingest, PostgreSQL", "callbacks/s", "bare Go JSON echo server",
		Target{Min: num(15000), MinRatio: num(0.5), Text: "≥ 15,000/s and ≥ 0.5× echo"}},
	{"ingest.postgres.p50", "Ingest latency p50, PostgreSQL", "ms", "echo p50", Target{}},
	{"ingest.postgres.p99", "Ingest latency p99, PostgreSQL", "ms", "echo p99", atMost(25, "≤ 25 ms")},
	{"ingest.sqlite.rate", "Durable callback ingest, SQLite", "callbacks/s", "bare Go JSON echo server", atLeast(8000, "≥ 8,000/s")},
	{"ingest.sqlite.p50", "Ingest latency p50, SQLite", "ms", "echo p50", Target{}},
	{"ingest.sqlite.p99", "Ingest latency p99, SQLite", "ms", "echo p99", Target{}},
	{"import.postgres.rate", "Bulk import (events import), PostgreSQL", "events/s", "raw COPY of the same rows",
		Target{Min: num(80000), MinRatio: num(0.8), Text: "≥ 80,000/s and ≥ 0.8× raw COPY"}},
	{"import.sqlite.rate", "Bulk import, SQLite", "events/s", "", Target{}},
	{"rebuild.postgres.rate", "Rebuild of all projections, PostgreSQL (rebuild process, heap limit)", "events/s", "plain ReadAll pass", atLeast(250000, "≥ 250,000/s")},
	{"rebuild.postgres.peak_rss", "Rebuild peak RSS, PostgreSQL (rebuild process, heap limit)", "MB", "ReadAll pass peak RSS", atMost(300, "≤ 300 MB")},
	{"rebuild.postgres.rate_gc_default", "Rebuild of all projections, PostgreSQL, no heap limit", "events/s", "plain ReadAll pass", Target{}},
	{"rebuild.postgres.peak_rss_gc_default", "Rebuild peak RSS, PostgreSQL, no heap limit", "MB", "ReadAll pass peak RSS", Target{}},
	{"rebuild.sqlite.rate", "Rebuild of all projections, SQLite (heap limit)", "events/s", "plain ReadAll pass", Target{}},
	{"rebuild.sqlite.peak_rss", "Rebuild peak RSS, SQLite (heap limit)", "MB", "ReadAll pass peak RSS", Target{}},
	{"lag.postgres.p99", "Live lag p99 (commit → read model) at 5,000 events/s, PostgreSQL", "ms", "append→commit p99", atMost(100, "≤ 100 ms")},
	{"lag.postgres.p50", "Live lag p50, PostgreSQL", "ms", "append→commit p50", Target{}},
	{"lag.sqlite.p99", "Live lag p99 at 5,000 events/s, SQLite", "ms", "append→commit p99", Target{}},
	{"queries.postgres.p99", "GET device/order p99 at 2,000/s while ingesting 5,000/s, PostgreSQL", "ms", "same GETs without ingest", atMost(5, "≤ 5 ms")},
	{"queries.postgres.p50", "GET device/order p50 under ingest, PostgreSQL", "ms", "same GETs without ingest", Target{}},
	{"queries.sqlite.p99", "GET device/order p99 at 2,000/s while ingesting 5,000/s, SQLite", "ms", "same GETs without ingest", Target{}},
	{"footprint.idle_rss", "Idle RSS of tidemark serve (SQLite)", "MB", "bare Go echo server binary", atMost(40, "≤ 40 MB")},
	{"footprint.binary_size", "Static binary size (-trimpath -s -w)", "MB", "bare Go echo server binary", atMost(40, "≤ 40 MB")},
}

// figures holds the rows of a run by id.
type figures struct {
	list []*Figure
	byID map[string]*Figure
}

func newFigures() *figures {
	f := &figures{byID: map[string]*Figure{}}
	for _, s := range figureSpecs {
		fig := &Figure{ID: s.id, Name: s.name, Unit: s.unit, BaselineName: s.baselineName, Target: s.target,
			Verdict: VerdictNotMeasured, Reason: "not run"}
		f.list = append(f.list, fig)
		f.byID[s.id] = fig
	}
	return f
}

// set records a measurement (baseline may be nil) and judges it.
func (f *figures) set(id string, measured float64, baseline *float64, note string) {
	fig := f.byID[id]
	if fig == nil {
		return
	}
	if math.IsNaN(measured) || math.IsInf(measured, 0) {
		f.skip(id, fmt.Sprintf("the measurement gave %v", measured))
		return
	}
	fig.Measured, fig.Baseline, fig.Note, fig.Reason = &measured, nil, note, ""
	fig.Ratio = nil
	if baseline != nil && *baseline > 0 && !math.IsInf(*baseline, 0) {
		fig.Baseline = baseline
		fig.Ratio = num(measured / *baseline)
	}
	fig.Verdict = judge(fig)
}

// require adds a condition of the measurement itself (e.g. the load it
// was measured under reached the rate the target names): when it does not
// hold, a figure with a target is short, whatever its value.
func (f *figures) require(id string, ok bool, reason string) {
	fig := f.byID[id]
	if fig == nil || fig.Measured == nil || ok {
		return
	}
	if fig.Verdict == VerdictInfo {
		fig.Note = strings.TrimSpace(fig.Note + " Caveat: " + reason + ".")
		return
	}
	if fig.Verdict == VerdictShort {
		fig.Reason += "; " + reason
	} else {
		fig.Verdict, fig.Reason = VerdictShort, reason
	}
}

// skip marks a figure as not measured, with the reason.
func (f *figures) skip(id, reason string) {
	if fig := f.byID[id]; fig != nil {
		fig.Measured, fig.Baseline, fig.Ratio = nil, nil, nil
		fig.Verdict, fig.Reason = VerdictNotMeasured, reason
	}
}

// skipPrefix marks every figure whose id starts with prefix as not measured.
func (f *figures) skipPrefix(prefix, reason string) {
	for _, fig := range f.list {
		if strings.HasPrefix(fig.ID, prefix) {
			f.skip(fig.ID, reason)
		}
	}
}

func judge(fig *Figure) string {
	t := fig.Target
	if t.none() {
		return VerdictInfo
	}
	var missed []string
	m := *fig.Measured
	if t.Min != nil && m < *t.Min {
		missed = append(missed, fmt.Sprintf("%s < %s", fmtNum(m), fmtNum(*t.Min)))
	}
	if t.Max != nil && m > *t.Max {
		missed = append(missed, fmt.Sprintf("%s > %s", fmtNum(m), fmtNum(*t.Max)))
	}
	if t.MinRatio != nil {
		switch {
		case fig.Ratio == nil:
			missed = append(missed, "no baseline to compare with")
		case *fig.Ratio < *t.MinRatio:
			missed = append(missed, fmt.Sprintf("ratio %.2f < %.2f", *fig.Ratio, *t.MinRatio))
		}
	}
	if len(missed) > 0 {
		fig.Reason = strings.Join(missed, "; ")
		return VerdictShort
	}
	return VerdictPass
}

// fmtNum renders a figure: thousands separated, 2 significant decimals below 100.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return groupThousands(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// write puts report.md and report.json in dir.
func (r *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("write report.md: %w", err)
	}
	return nil
}

func (r *Report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Tidemark benchmark report\n\n")
	mode := "full run"
	if r.Quick {
		mode = "QUICK smoke run: small sizes, figures not comparable with the targets"
	}
	if r.Sections != "" {
		mode += "; sections: " + r.Sections
	}
	p("Generated %s by `go run ./bench` (%s) in %s. Every figure below was measured in this run, each beside a\n",
		r.GeneratedAt.Format(time.RFC3339), mode, (time.Duration(r.Seconds) * time.Second).String())
	p("baseline measured in the same run on the same machine. The machine may be shared and noisy (see the load\naverage below): read the ratios first.\n\n")

	m := r.Machine
	p("## Machine\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s |\n| cores (nproc) | %d |\n| GOMAXPROCS | %d |\n| Go | %s |\n| OS/arch | %s |\n| memory | %s |\n",
		m.CPUModel, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OSArch, m.MemTotal)
	p("| load average at start / end | %s / %s |\n| PostgreSQL | %s |\n| date | %s |\n\n",
		m.LoadStart, m.LoadEnd, m.Postgres, r.GeneratedAt.Format("2006-01-02 15:04:05 MST"))

	p("## Sizes used\n\n")
	for _, k := range sortedKeys(r.Sizes) {
		p("- %s: %v\n", k, r.Sizes[k])
	}
	p("\n## Figures\n\n")
	p("| figure | measured | baseline | ratio | target | verdict |\n|---|---:|---:|---:|---|---|\n")
	for _, f := range r.Figures {
		measured, base, ratio := "—", "—", "—"
		if f.Measured != nil {
			measured = fmtNum(*f.Measured) + " " + f.Unit
		}
		if f.Baseline != nil {
			base = fmtNum(*f.Baseline) + " " + f.Unit
			if f.BaselineName != "" {
				base += " (" + f.BaselineName + ")"
			}
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *f.Ratio)
		}
		target := f.Target.Text
		if target == "" {
			target = "—"
		}
		verdict := f.Verdict
		switch f.Verdict {
		case VerdictNotMeasured:
			verdict = "not measured: " + f.Reason
		case VerdictShort:
			verdict = "**short** (" + f.Reason + ")"
		case VerdictInfo:
			verdict = "— (no target)"
		}
		p("| %s | %s | %s | %s | %s | %s |\n", f.Name, measured, base, ratio, target, mdCell(verdict))
	}
	p("\n### Notes\n\n")
	for _, f := range r.Figures {
		if f.Note != "" {
			p("- **%s**: %s\n", f.Name, mdCell(f.Note))
		}
	}

	p("\n## Go benchmarks\n\n")
	p("Every benchmark line (events/s where the benchmark reports it, then its other metrics) from `%s`, written by the `go test -run '^$' -bench . -benchtime 1x ./...` step of the same `make bench`.", r.GoBenchSource)
	if r.GoBenchNote != "" {
		p(" %s", r.GoBenchNote)
	}
	p("\n\n")
	if len(r.GoBench) > 0 {
		p("| benchmark | events/s | other metrics |\n|---|---:|---|\n")
		for _, g := range r.GoBench {
			ev := "—"
			if g.EventsPerSec != nil {
				ev = fmtNum(*g.EventsPerSec)
			}
			var other []string
			for _, k := range sortedKeys(g.Metrics) {
				if k != "events/s" {
					other = append(other, fmtNum(g.Metrics[k])+" "+k)
				}
			}
			p("| %s %s | %s | %s |\n", g.Package, g.Name, ev, mdCell(strings.Join(other, ", ")))
		}
	}
	return b.String()
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
