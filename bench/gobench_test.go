package main

import (
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/tidemark/tidemark/adapters/postgres
BenchmarkStore/append/single-2         	       1	   2345678 ns/op	       426.3 events/s
BenchmarkStore/import-2                	       1	 123456789 ns/op	     81000 events/s
--- SKIP: BenchmarkOther
pkg: github.com/tidemark/tidemark/domain/carwash
BenchmarkDecode-2   	       1	      6801 ns/op	    2408 B/op	      45 allocs/op
BenchmarkBroken-2   	 garbage
--- FAIL: BenchmarkX
FAIL	github.com/tidemark/tidemark/api	1.2s
`
	res, err := parseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.lines) != 3 {
		t.Fatalf("lines: %+v", res.lines)
	}
	imp := res.lines[1]
	if imp.Package != "adapters/postgres" || imp.Name != "BenchmarkStore/import-2" || imp.EventsPerSec == nil || *imp.EventsPerSec != 81000 {
		t.Errorf("import line: %+v", imp)
	}
	dec := res.lines[2]
	if dec.Package != "domain/carwash" || dec.EventsPerSec != nil || dec.Metrics["allocs/op"] != 45 {
		t.Errorf("decode line: %+v", dec)
	}
	if res.skipped != 1 || len(res.failures) != 2 {
		t.Errorf("skipped %d, failures %q", res.skipped, res.failures)
	}
}
