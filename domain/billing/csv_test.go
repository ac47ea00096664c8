package billing_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) || bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
		t.Fatalf("lines must end in CRLF (RFC 4180): %q", b)
	}
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read back: %v\n%s", err, b)
	}
	return rows
}

func TestReportCSV(t *testing.T) {
	r := billing.Report{
		Orders: []billing.OrderLine{
			{OrderID: "=HYPERLINK(\"http://x\")", Callbacks: 1, ChargedSun: 5, ChargedTrx: "0.000005", Anomalies: []energy.Anomaly{}},
			{OrderID: "-12", Callbacks: 2, Delegations: 1, EnergyTotal: 65000, ChargedSun: 7, ChargedTrx: "0.000007",
				Anomalies: []energy.Anomaly{
					{Type: energy.AnomalyDelegationGap, Missing: []int64{3, 5}},
					{Type: energy.AnomalyDuplicateCharge, Hash: "ab12", EventIDs: []string{"x", "y"}},
					{Type: energy.AnomalyOverLimit, TotalDelegateNums: 12, MaxDelegateNums: 10},
					{Type: energy.AnomalyChargeOnDeleted, EventIDs: []string{"e1", "e2"}},
				}},
			{OrderID: "a,\"b\"\nc", Anomalies: []energy.Anomaly{
				{Type: energy.AnomalyDelegationGap, Missing: []int64{1, 2}, MissingCount: 1500}}},
			{OrderID: "+1", Anomalies: []energy.Anomaly{}},
			{OrderID: "@SUM(A1)", Anomalies: []energy.Anomaly{}},
		},
		Totals: billing.Totals{Orders: 5, Callbacks: 3, Delegations: 1, EnergyTotal: 65000, ChargedSun: 12, ChargedTrx: "0.000012",
			Anomalies: map[string]int64{"OVER_LIMIT": 1, "DELEGATION_GAP": 2, "DUPLICATE_CHARGE": 1, "CHARGE_ON_DELETED": 1, "SOMETHING_NEW": 3}},
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	want := [][]string{
		billing.ReportCSVHeader,
		{"'=HYPERLINK(\"http://x\")", "1", "0", "0", "5", "0.000005", ""},
		{"'-12", "2", "1", "65000", "7", "0.000007", "DELEGATION_GAP[3 5];DUPLICATE_CHARGE[ab12];OVER_LIMIT[12>10];CHARGE_ON_DELETED[e1 e2]"},
		{"a,\"b\"\nc", "0", "0", "0", "0", "", "DELEGATION_GAP[1 2 +1498 more]"},
		{"'+1", "0", "0", "0", "0", "", ""},
		{"'@SUM(A1)", "0", "0", "0", "0", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %q", len(rows), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d\n got  %q\n want %q", i, rows[i], want[i])
		}
	}
}

func TestComparisonCSV(t *testing.T) {
	h := hashOf("c")
	st, _ := billing.ParseStatement(strings.NewReader("orderId,hash,amountSun\n=cmd,,5\nE2," + h + ",9\nE3,,1.5\n"))
	c, err := billing.Compare(st, []energy.LedgerEntry{entry("E2", h, 10, 1), entry("E4", "", 3, 2)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	want := [][]string{
		billing.ComparisonCSVHeader,
		{"MISSING_CALLBACK", "'=cmd", "", "2", "5", "0.000005", "", "", "", "", "", ""},
		{"AMOUNT_MISMATCH", "E2", h, "3", "9", "0.000009", "ev-E2-b", "10", "0.000010", "-1", "-0.000001", ""},
		{"NOT_ON_STATEMENT", "E4", "", "", "", "", "ev-E4-c", "3", "0.000003", "", "", ""},
		{"ROW_ERROR", "", "", "4", "", "", "", "", "", "", "", st.RowErrors[0].Column + ": " + st.RowErrors[0].Reason},
		{"TOTAL", "", "", "", "14", "0.000014", "", "13", "0.000013", "1", "0.000001",
			"statementRows=2;ledgerEntries=2;matched=0;MISSING_CALLBACK=1;NOT_ON_STATEMENT=1;AMOUNT_MISMATCH=1;statementRowsOutsideWindow=0;rowErrors=1"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %q", len(rows), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d\n got  %q\n want %q", i, rows[i], want[i])
		}
	}
}

// A failing writer's error is returned, not lost.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errBroken }

var errBroken = errors.New("broken pipe")

func TestCSVWriteErrors(t *testing.T) {
	if err := (billing.Report{}).WriteCSV(brokenWriter{}); err == nil {
		t.Error("report: no error from a broken writer")
	}
	if err := (billing.Comparison{}).WriteCSV(brokenWriter{}); err == nil {
		t.Error("comparison: no error from a broken writer")
	}
}
