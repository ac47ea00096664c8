package billing

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/tidemark/tidemark/domain/energy"
)

// ReportCSVHeader is the header row of Report.WriteCSV.
var ReportCSVHeader = []string{"orderId", "callbacks", "delegations", "energyTotal", "chargedSun", "chargedTrx", "anomalies"}

// TotalLabel starts the first cell of a statement comparison's totals row.
const TotalLabel = "TOTAL"

// WriteCSV writes one row per order under a header row, the anomalies
// joined in one column (e.g. "DELEGATION_GAP[3 5];DUPLICATE_CHARGE[ab12…]").
// Nothing else: api.md has one row per order, so a reader can take every
// row after the header as an order (the totals are in the JSON answer).
func (r Report) WriteCSV(w io.Writer) error {
	cw := newCSVWriter(w)
	cw.write(ReportCSVHeader...)
	for _, o := range r.Orders {
		cw.write(text(o.OrderID), num(o.Callbacks), num(o.Delegations), num(o.EnergyTotal),
			num(o.ChargedSun), o.ChargedTrx, text(AnomalyCell(o.Anomalies)))
	}
	return cw.flush()
}

// AnomalyCell renders an order's anomalies for one CSV cell:
// DELEGATION_GAP[missing numbers, "+N more" when the list was cut],
// DUPLICATE_CHARGE[hash], OVER_LIMIT[total>max], CHARGE_ON_DELETED[event ids],
// joined with ";".
func AnomalyCell(as []energy.Anomaly) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		var detail []string
		switch a.Type {
		case energy.AnomalyDelegationGap:
			for _, n := range a.Missing {
				detail = append(detail, strconv.FormatInt(n, 10))
			}
			if more := a.MissingCount - int64(len(a.Missing)); more > 0 {
				detail = append(detail, "+"+strconv.FormatInt(more, 10)+" more")
			}
		case energy.AnomalyDuplicateCharge:
			detail = []string{a.Hash}
		case energy.AnomalyOverLimit:
			detail = []string{strconv.FormatInt(a.TotalDelegateNums, 10) + ">" + strconv.FormatInt(a.MaxDelegateNums, 10)}
		case energy.AnomalyChargeOnDeleted:
			detail = a.EventIDs
		}
		if len(detail) == 0 {
			parts = append(parts, a.Type)
			continue
		}
		parts = append(parts, a.Type+"["+strings.Join(detail, " ")+"]")
	}
	return strings.Join(parts, ";")
}

// countsCell renders counts as "A=1;B=2": the known types in their order,
// then any other type in key order.
func countsCell(counts map[string]int64, order []string) string {
	var parts []string
	done := map[string]bool{}
	for _, k := range order {
		done[k] = true
		if n := counts[k]; n != 0 {
			parts = append(parts, k+"="+strconv.FormatInt(n, 10))
		}
	}
	var rest []string
	for k := range counts {
		if !done[k] && counts[k] != 0 {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		parts = append(parts, k+"="+strconv.FormatInt(counts[k], 10))
	}
	return strings.Join(parts, ";")
}

// csvWriter is encoding/csv with RFC 4180 line ends and a sticky error.
type csvWriter struct{ w *csv.Writer }

func newCSVWriter(w io.Writer) *csvWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &csvWriter{w: cw}
}

func (c *csvWriter) write(cells ...string) { _ = c.w.Write(cells) } // the error sticks; flush reports it

func (c *csvWriter) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// text makes a text cell safe to open in a spreadsheet: a leading = + - @
// tab or CR would make it a formula, so it gets a leading apostrophe.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// num renders a numeric cell; numbers stay numbers, even negative ones.
func num(n int64) string { return strconv.FormatInt(n, 10) }

// ComparisonCSVHeader is the header row of Comparison.WriteCSV.
var ComparisonCSVHeader = []string{"type", "orderId", "hash", "line", "statementSun", "statementTrx",
	"eventId", "ledgerSun", "ledgerTrx", "differenceSun", "differenceTrx", "detail"}

// RowErrorLabel is the type cell of a Comparison.WriteCSV row that reports
// a statement row that could not be read.
const RowErrorLabel = "ROW_ERROR"

// WriteCSV writes one row per discrepancy under a header row, then one
// ROW_ERROR row per statement row that could not be read (line and reason),
// then a TOTAL row with both sides' sums and the difference, whose detail
// cell gives the counts ("statementRows=…;ledgerEntries=…;matched=…;
// MISSING_CALLBACK=…;…"). Empty cells stand for values that do not apply.
func (c Comparison) WriteCSV(w io.Writer) error {
	cw := newCSVWriter(w)
	cw.write(ComparisonCSVHeader...)
	opt := func(n int64, s string) (string, string) {
		if s == "" {
			return "", ""
		}
		return num(n), s
	}
	for _, d := range c.Items {
		line := ""
		if d.Line > 0 {
			line = strconv.Itoa(d.Line)
		}
		sSun, sTrx := opt(d.StatementSun, d.StatementTrx)
		lSun, lTrx := opt(d.LedgerSun, d.LedgerTrx)
		dSun, dTrx := opt(d.DifferenceSun, d.DifferenceTrx)
		cw.write(d.Type, text(d.OrderID), text(d.Hash), line, sSun, sTrx, text(d.EventID), lSun, lTrx, dSun, dTrx, "")
	}
	for _, e := range c.RowErrors {
		reason := e.Reason
		if e.Column != "" {
			reason = e.Column + ": " + reason
		}
		cw.write(RowErrorLabel, "", "", strconv.Itoa(e.Line), "", "", "", "", "", "", "", text(reason))
	}
	t := c.Totals
	counts := []string{"statementRows=" + num(t.StatementRows), "ledgerEntries=" + num(t.LedgerEntries), "matched=" + num(t.Matched)}
	if d := countsCell(t.Discrepancies, []string{MissingCallback, NotOnStatement, AmountMismatch}); d != "" {
		counts = append(counts, d)
	}
	counts = append(counts, "statementRowsOutsideWindow="+num(t.RowsOutsideWindow), "rowErrors="+num(t.RowErrors))
	cw.write(TotalLabel, "", "", "", num(t.StatementSun), t.StatementTrx, "", num(t.LedgerSun), t.LedgerTrx,
		num(t.DifferenceSun), t.DifferenceTrx, strings.Join(counts, ";"))
	return cw.flush()
}
