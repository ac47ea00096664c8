package billing_test

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/billing/billingtest"
)

// month is generated once for every test here (tests only read it).
var month = sync.OnceValues(func() (*billingtest.Month, error) {
	return billingtest.Generate(billingtest.Options{Seed: 2026, Orders: 3000})
})

// generate returns the month every test here uses.
func generate(t testing.TB) *billingtest.Month {
	t.Helper()
	m, err := month()
	if err != nil {
		t.Fatal(err)
	}
	p := m.Planted
	// The expectations are only worth something if every kind was planted.
	for name, n := range map[string]int{"gaps": p.DelegationGaps, "duplicate charges": p.DuplicateCharges,
		"over limit": p.OverLimit, "charge on deleted": p.ChargeOnDeleted, "retries": p.Retries,
		"legacy amounts": p.LegacyAmounts, "out of order": p.OutOfOrder, "missing callback": p.MissingCallback,
		"not on statement": p.NotOnStatement, "amount mismatch": p.AmountMismatch, "row errors": p.RowErrors} {
		if n < 10 {
			t.Fatalf("only %d %s planted: %+v", n, name, p)
		}
	}
	return m
}

// A generated month (3000 orders, dropped callbacks, double charges,
// legacy TRX amounts, retries, out-of-order delivery) built with the real
// decoder reconciles to exactly the planted anomalies and totals.
func TestMonthReconciles(t *testing.T) {
	m := generate(t)
	for _, retries := range []bool{false, true} {
		events, err := m.Events(retries)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("retries="+strconv.FormatBool(retries), func(t *testing.T) {
			if d := billingtest.DiffReport(build(t, nil, nil, events...), m.Report); len(d) > 0 {
				t.Fatalf("report differs from what was planted:\n%v", d)
			}
			got := compare(t, m.Statement, events, nil, nil)
			if d := billingtest.DiffComparison(got, m.Comparison); len(d) > 0 {
				t.Fatalf("comparison differs from what was planted:\n%v", d)
			}
		})
	}
	r := m.Report.Totals
	t.Logf("%d orders, %d callbacks (%d deliveries), %s TRX charged, anomalies %v; statement: %v",
		r.Orders, r.Callbacks, len(m.Deliveries), r.ChargedTrx, r.Anomalies, m.Comparison.Totals.Discrepancies)
}

// The fold does not depend on the order events arrive in: shuffling the
// whole log gives the same report.
func TestMonthShuffled(t *testing.T) {
	m := generate(t)
	events, err := m.Events(true)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	if d := billingtest.DiffReport(build(t, nil, nil, events...), m.Report); len(d) > 0 {
		t.Fatalf("shuffled log:\n%v", d)
	}
}

// The month's window is the whole month: the same result with the bounds set.
func TestMonthWindowBounds(t *testing.T) {
	m := generate(t)
	events, err := m.Events(false)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Report
	want.From, want.To = &m.Start, &m.End
	if d := billingtest.DiffReport(build(t, &m.Start, &m.End, events...), want); len(d) > 0 {
		t.Fatalf("report over [start, end):\n%v", d)
	}
	wantCmp := m.Comparison
	wantCmp.From, wantCmp.To = &m.Start, &m.End
	if d := billingtest.DiffComparison(compare(t, m.Statement, events, &m.Start, &m.End), wantCmp); len(d) > 0 {
		t.Fatalf("comparison over [start, end):\n%v", d)
	}
	// An empty window has nothing on the ledger side, and every statement row with a time falls outside.
	empty := compare(t, m.Statement, events, &m.End, nil)
	if empty.Totals.LedgerEntries != 0 || empty.Totals.RowsOutsideWindow == 0 ||
		empty.Totals.StatementRows+empty.Totals.RowsOutsideWindow != m.Comparison.Totals.StatementRows {
		t.Fatalf("window after the month: %+v", empty.Totals)
	}
}

// The month's CSV opens as one row per order plus header and totals, the
// figures equal to the JSON's.
func TestMonthCSV(t *testing.T) {
	m := generate(t)
	var buf bytes.Buffer
	if err := m.Report.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(m.Report.Orders)+1 || !slices.Equal(rows[0], billing.ReportCSVHeader) {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	var sum int64
	for i, o := range m.Report.Orders {
		row := rows[i+1]
		if row[0] != o.OrderID || row[4] != strconv.FormatInt(o.ChargedSun, 10) || row[5] != o.ChargedTrx ||
			row[6] != billing.AnomalyCell(o.Anomalies) {
			t.Fatalf("row %d = %v, want %+v", i+1, row, o)
		}
		n, _ := strconv.ParseInt(row[4], 10, 64)
		sum += n
	}
	if sum != m.Report.Totals.ChargedSun { // one row per order, nothing else: the rows add up to the total
		t.Fatalf("sum of rows %d, total %d", sum, m.Report.Totals.ChargedSun)
	}
}

// compare runs the statement comparison the way the API does: the ledger
// from the same scan of the log.
func compare(t testing.TB, statement []byte, events []domain.Event, from, to *time.Time) billing.Comparison {
	t.Helper()
	st, _ := billing.ParseStatement(bytes.NewReader(statement))
	l := billing.NewLedger(from, to)
	for _, e := range events {
		if err := l.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	c, err := billing.Compare(st, l.Entries(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
