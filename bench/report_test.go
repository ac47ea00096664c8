package main

import (
	"strings"
	"testing"
	"time"
)

func TestVerdicts(t *testing.T) {
	tests := []struct {
		id       string
		measured float64
		baseline *float64
		want     string
		reason   string
	}{
		{"ingest.postgres.rate", 16000, num(30000), VerdictPass, ""},
		{"ingest.postgres.rate", 16000, num(40000), VerdictShort, "ratio 0.40 < 0.50"},
		{"ingest.postgres.rate", 9000, num(10000), VerdictShort, "9,000 < 15,000"},
		{"ingest.postgres.rate", 16000, nil, VerdictShort, "no baseline"},
		{"ingest.postgres.p99", 25, num(3), VerdictPass, ""},
		{"ingest.postgres.p99", 25.5, num(3), VerdictShort, "25.5 > 25.0"},
		{"ingest.postgres.p50", 1e6, nil, VerdictInfo, ""},
		{"rebuild.postgres.peak_rss", 120, num(40), VerdictPass, ""},
	}
	for _, tt := range tests {
		f := newFigures()
		f.set(tt.id, tt.measured, tt.baseline, "")
		got := f.byID[tt.id]
		if got.Verdict != tt.want || !strings.Contains(got.Reason, tt.reason) {
			t.Errorf("%s %v/%v: %s %q, want %s %q", tt.id, tt.measured, tt.baseline, got.Verdict, got.Reason, tt.want, tt.reason)
		}
		if tt.baseline != nil && (got.Ratio == nil || *got.Ratio != tt.measured / *tt.baseline) {
			t.Errorf("%s: ratio %v", tt.id, got.Ratio)
		}
	}
}

func TestRequireAndSkip(t *testing.T) {
	f := newFigures()
	f.set("lag.postgres.p99", 12, num(4), "")
	f.require("lag.postgres.p99", false, "appends reached only 3000/s")
	if g := f.byID["lag.postgres.p99"]; g.Verdict != VerdictShort || g.Reason != "appends reached only 3000/s" {
		t.Errorf("require on a passing figure: %s %q", g.Verdict, g.Reason)
	}
	f.set("lag.sqlite.p99", 12, nil, "n")
	f.require("lag.sqlite.p99", false, "slow")
	if g := f.byID["lag.sqlite.p99"]; g.Verdict != VerdictInfo || !strings.Contains(g.Note, "slow") {
		t.Errorf("require on an informative figure: %s %q", g.Verdict, g.Note)
	}
	f.skipPrefix("ingest.", "PostgreSQL unreachable")
	for _, g := range f.list {
		if strings.HasPrefix(g.ID, "ingest.") && (g.Verdict != VerdictNotMeasured || g.Reason != "PostgreSQL unreachable") {
			t.Errorf("%s: %s %q", g.ID, g.Verdict, g.Reason)
		}
	}
	f.set("queries.postgres.p99", 1/zero(), nil, "")
	if g := f.byID["queries.postgres.p99"]; g.Verdict != VerdictNotMeasured || g.Measured != nil {
		t.Errorf("an infinite measurement must not be reported: %+v", g)
	}
}

func zero() float64 { return 0 }

func TestFmtNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 15000: "15,000", 999: "999", 25.46: "25.5", 0.123: "0.12", -2500: "-2,500"} {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestQuantile(t *testing.T) {
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	if p50, p99, p100 := l.quantile(0.5), l.quantile(0.99), l.quantile(1); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond || p100 != 100*time.Millisecond {
		t.Errorf("p50 %s p99 %s p100 %s", p50, p99, p100)
	}
	if l[0] != 100*time.Millisecond {
		t.Error("quantile sorted its receiver")
	}
	if latencies(nil).quantile(0.99) != 0 {
		t.Error("empty quantile")
	}
}
