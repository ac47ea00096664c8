package billing_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain/billing"
)

// FuzzParseStatement: whatever the bytes, ParseStatement does not panic,
// every row it keeps is a valid charge, every line is either a row, an
// error, blank or the header, and the rows it keeps read back the same.
func FuzzParseStatement(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "statements", "*.csv"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/statements: %v", err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, errs := billing.ParseStatement(bytes.NewReader(data))
		lines := bytes.Count(data, []byte("\n")) + 1
		if len(st.Rows)+len(errs) > lines {
			t.Fatalf("%d rows and %d errors from %d lines", len(st.Rows), len(errs), lines)
		}
		prev := 0
		var total int64
		for _, r := range st.Rows {
			if r.Line <= prev || r.Line > lines {
				t.Fatalf("row line %d after %d (of %d lines)", r.Line, prev, lines)
			}
			prev = r.Line
			if strings.TrimSpace(r.OrderID) != r.OrderID || r.OrderID == "" || r.AmountSun <= 0 {
				t.Fatalf("invalid row kept: %+v", r)
			}
			if r.Hash != "" && len(r.Hash) != 64 {
				t.Fatalf("hash kept: %q", r.Hash)
			}
			if r.Time != nil && r.Time.Location() != time.UTC {
				t.Fatalf("time not in UTC: %v", r.Time)
			}
			if total+r.AmountSun < total {
				t.Fatalf("the kept rows overflow")
			}
			total += r.AmountSun
		}
		for _, e := range errs {
			if e.Line < 1 || e.Line > lines || e.Reason == "" {
				t.Fatalf("row error %+v (of %d lines)", e, lines)
			}
		}
		// The rows read back the same once written out again.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"orderId", "hash", "amountSun", "time"})
		var kept []billing.StatementRow
		for _, r := range st.Rows {
			if strings.ContainsRune(r.OrderID, '\r') { // csv folds CRLF inside quotes to LF
				continue
			}
			at := ""
			if r.Time != nil {
				at = r.Time.Format(time.RFC3339Nano)
			}
			_ = w.Write([]string{r.OrderID, r.Hash, strconv.FormatInt(r.AmountSun, 10), at})
			kept = append(kept, r)
		}
		w.Flush()
		again, errs2 := billing.ParseStatement(&buf)
		if len(errs2) != 0 || len(again.Rows) != len(kept) {
			t.Fatalf("rewritten statement: %d rows (want %d), errors %v", len(again.Rows), len(kept), errs2)
		}
		for i := range kept {
			a, b := again.Rows[i], kept[i]
			a.Line, b.Line = 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("row %d reads back as %+v, was %+v", i, a, b)
			}
		}
	})
}
