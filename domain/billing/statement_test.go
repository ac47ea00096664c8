package billing_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain/billing"
)

type wantErr struct {
	line   int
	column string
	reason string // a part of the reason
}

func TestParseStatement(t *testing.T) {
	h := hashOf("s")
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   string
		rows []billing.StatementRow
		errs []wantErr
	}{
		{"plain", "orderId,hash,amountSun\nE1," + h + ",2000000\nE2,,5\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", Hash: h, AmountSun: 2_000_000}, {Line: 3, OrderID: "E2", AmountSun: 5}}, nil},
		{"BOM, CRLF, columns in any order, any case, extra columns, spaces",
			"\uFEFFAmountSun , note,TIME,HASH,orderid\r\n 7 ,\"a, b\",2026-11-22T10:00:00+07:00, " + h + " , E1 \r\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", Hash: h, AmountSun: 7, Time: &at}}, nil},
		{"blank lines and rows of empty cells are skipped, lines still counted",
			"\n\norderId,hash,amountSun\n\n,,\n  ,  ,  \nE1,,9\n",
			[]billing.StatementRow{{Line: 7, OrderID: "E1", AmountSun: 9}}, nil},
		{"a quoted newline: the row's first line counts", "orderId,hash,amountSun\n\"E\n1\",,3\nE2,,4\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E\n1", AmountSun: 3}, {Line: 4, OrderID: "E2", AmountSun: 4}}, nil},
		{"trailing empty cells beyond the header are tolerated", "orderId,hash,amountSun\nE1,,3,,\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", AmountSun: 3}}, nil},
		{"no time column value", "orderId,hash,amountSun,time\nE1,,3,\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", AmountSun: 3}}, nil},
		{"times: RFC 3339 with a space, Unix seconds, Unix milliseconds",
			"orderId,hash,amountSun,time\nE1,,1,2026-11-22 10:00:00+07:00\nE2,,2,1795316400\nE3,,3,1795316400000\nE4,,4,2026-11-22 03:00:00.000Z\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", AmountSun: 1, Time: &at}, {Line: 3, OrderID: "E2", AmountSun: 2, Time: &at},
				{Line: 4, OrderID: "E3", AmountSun: 3, Time: &at}, {Line: 5, OrderID: "E4", AmountSun: 4, Time: &at}}, nil},

		{"empty input", "", nil, []wantErr{{1, "", "header row"}}},
		{"only blank lines", "\n \n,,\n", nil, []wantErr{{1, "", "header row"}}},
		{"no header: the columns in domain.md's order", "E1," + h + ",5\nE2,,6\n",
			[]billing.StatementRow{{Line: 1, OrderID: "E1", Hash: h, AmountSun: 5}, {Line: 2, OrderID: "E2", AmountSun: 6}}, nil},
		{"no header, with time", "E1,,5,2026-11-22T10:00:00+07:00\n",
			[]billing.StatementRow{{Line: 1, OrderID: "E1", AmountSun: 5, Time: &at}}, nil},
		{"neither a header nor an amount", "E1," + h + ",five\n", nil, []wantErr{{1, "", "missing: orderId, hash, amountSun"}}},
		{"header without amountSun", "orderId,hash,amount\nE1,,5\n", nil, []wantErr{{1, "", "missing: amountSun"}}},
		{"semicolons", "orderId;hash;amountSun\nE1;;5\n", nil, []wantErr{{1, "", "commas"}}},
		{"a column named twice", "orderId,hash,amountSun,orderid\nE1,,5,E2\n", nil, []wantErr{{1, "orderId", "twice"}}},

		{"every malformed row by its line", strings.Join([]string{
			"orderId,hash,amountSun,time",
			"E1,," + "1.96,",            // 2: TRX, not sun
			"E1,,1e6,",                  // 3: exponent
			"E1,,1 000,",                // 4: separator
			"E1,,-5,",                   // 5: negative
			"E1,,+5,",                   // 6: signed
			"E1,,0,",                    // 7: zero
			"E1,,,",                     // 8: missing
			"E1,,abc,",                  // 9: not a number
			"E1,,9223372036854775808,",  // 10: beyond int64
			",,5,",                      // 11: no order
			"E1,xyz,5,",                 // 12: not a hash
			"E1," + h + "0,5,",          // 13: 65 digits
			"E1,,5,yesterday",           // 14: not RFC 3339
			"E1,,5,2026-11-22 10:00:00", // 15: no offset
			"E1,,5",                     // 16: too few fields
			"E1,,5,,extra",              // 17: too many fields
			"E1,a\"b,5,",                // 18: a bare quote
			"E1,,5,",                    // 19: fine
			"E1,,5,2026",                // 20: a year, not a Unix time
			"E1,,5,179531640000",        // 21: 12 digits: neither seconds nor milliseconds
			"E1,,5,-1795316400",         // 22: before 1970
		}, "\n") + "\n",
			[]billing.StatementRow{{Line: 19, OrderID: "E1", AmountSun: 5}},
			[]wantErr{
				{2, "amountSun", "decimal point"}, {3, "amountSun", "exponent"}, {4, "amountSun", "separator"},
				{5, "amountSun", "sign"}, {6, "amountSun", "sign"}, {7, "amountSun", "not a charge"},
				{8, "amountSun", "required"}, {9, "amountSun", "not an integer"}, {10, "amountSun", "int64"},
				{11, "orderId", "required"}, {12, "hash", "64 hex"}, {13, "hash", "64 hex"},
				{14, "time", "RFC 3339"}, {15, "time", "no UTC offset"}, {16, "", "3 fields, the header has 4"},
				{17, "", "5 fields, the header has 4"}, {18, "", `bare "`},
				{20, "time", "not a Unix time"}, {21, "time", "not a Unix time"}, {22, "time", "not a Unix time"},
			}},
		{"an unterminated quote says which lines it swallowed", "orderId,hash,amountSun\nE1,,5\nE2,\"ab,6\nE3,,7\nE4,,8\n",
			[]billing.StatementRow{{Line: 2, OrderID: "E1", AmountSun: 5}},
			[]wantErr{{3, "", "lines 3 to 5 are not read"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, errs := billing.ParseStatement(strings.NewReader(tc.in))
			// Every line-1 error in this table is about the header.
			headless := strings.HasPrefix(tc.name, "no header")
			if wantHeader := !headless && (len(tc.errs) == 0 || tc.errs[0].line != 1); st.Header != wantHeader || st.Headless != headless {
				t.Errorf("Header = %v, Headless = %v, want %v, %v", st.Header, st.Headless, wantHeader, headless)
			}
			if !reflect.DeepEqual(st.Rows, tc.rows) {
				t.Errorf("rows\n got  %+v\n want %+v", st.Rows, tc.rows)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %d", errs, len(tc.errs))
			}
			for i, w := range tc.errs {
				if e := errs[i]; e.Line != w.line || e.Column != w.column || !strings.Contains(e.Reason, w.reason) {
					t.Errorf("error %d = %q (%+v), want line %d column %q reason with %q", i, e.Error(), e, w.line, w.column, w.reason)
				}
			}
			if !reflect.DeepEqual(st.RowErrors, errs) {
				t.Errorf("Statement.RowErrors %v differ from the returned %v", st.RowErrors, errs)
			}
		})
	}
}

// Past MaxRowErrors the list ends with one entry counting the rest.
func TestParseStatementBoundsTheErrorList(t *testing.T) {
	var b strings.Builder
	b.WriteString("orderId,hash,amountSun\n")
	n := billing.MaxRowErrors + 250
	for i := range n {
		fmt.Fprintf(&b, "E%d,,1.5\n", i)
	}
	b.WriteString("E,,1\n")
	st, errs := billing.ParseStatement(strings.NewReader(b.String()))
	if len(st.Rows) != 1 || st.Rows[0].Line != n+2 {
		t.Fatalf("rows %+v", st.Rows)
	}
	if len(errs) != billing.MaxRowErrors+1 {
		t.Fatalf("%d errors listed", len(errs))
	}
	if e := errs[billing.MaxRowErrors-1]; e.Line != billing.MaxRowErrors+1 {
		t.Fatalf("last listed error %+v", e)
	}
	last := errs[billing.MaxRowErrors]
	if last.Line != billing.MaxRowErrors+2 || !strings.Contains(last.Reason, "250 more malformed rows") {
		t.Fatalf("summary %+v", last)
	}
}

// The statement reader must never read past what it was given.
type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, fmt.Errorf("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseStatementReadError(t *testing.T) {
	st, errs := billing.ParseStatement(&failingReader{data: "orderId,hash,amountSun\nE1,,5\n"})
	if len(st.Rows) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Reason, "disk on fire") {
		t.Fatalf("rows %+v errors %+v", st.Rows, errs)
	}
}
