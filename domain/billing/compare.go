package billing

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// Discrepancy types of a statement comparison (domain.md §2).
const (
	MissingCallback = "MISSING_CALLBACK" // on the statement, no ledger entry
	NotOnStatement  = "NOT_ON_STATEMENT" // a ledger entry the statement does not list
	AmountMismatch  = "AMOUNT_MISMATCH"  // on both, with different amounts
)

// Comparison is the outcome of comparing a statement with the ledger.
type Comparison struct {
	From      *time.Time       `json:"from"` // null when open
	To        *time.Time       `json:"to"`
	Items     []Discrepancy    `json:"items"` // by orderId, hash, statement line, log position
	Totals    ComparisonTotals `json:"totals"`
	RowErrors []RowError       `json:"rowErrors"` // the statement rows that could not be read
}

// Discrepancy is one difference between the statement and the ledger.
// Statement fields are set for MISSING_CALLBACK and AMOUNT_MISMATCH, ledger
// fields for NOT_ON_STATEMENT and AMOUNT_MISMATCH.
type Discrepancy struct {
	Type         string `json:"type"`
	OrderID      string `json:"orderId"`
	Hash         string `json:"hash"`
	Line         int    `json:"line,omitempty"` // the statement row's line
	StatementSun int64  `json:"statementSun,omitempty"`
	StatementTrx string `json:"statementTrx,omitempty"`
	EventID      string `json:"eventId,omitempty"` // the ledger entry's event
	LedgerSun    int64  `json:"ledgerSun,omitempty"`
	LedgerTrx    string `json:"ledgerTrx,omitempty"`
	// DifferenceSun is statement − ledger (AMOUNT_MISMATCH only).
	DifferenceSun int64  `json:"differenceSun,omitempty"`
	DifferenceTrx string `json:"differenceTrx,omitempty"`

	position domain.Position
}

// ComparisonTotals are the sums of both sides.
type ComparisonTotals struct {
	StatementRows int64  `json:"statementRows"` // rows compared (in the window)
	StatementSun  int64  `json:"statementSun"`
	StatementTrx  string `json:"statementTrx"`
	LedgerEntries int64  `json:"ledgerEntries"`
	LedgerSun     int64  `json:"ledgerSun"`
	LedgerTrx     string `json:"ledgerTrx"`
	DifferenceSun int64  `json:"differenceSun"` // statementSun − ledgerSun
	DifferenceTrx string `json:"differenceTrx"`
	Matched       int64  `json:"matched"` // pairs with equal amounts
	// Discrepancies counts the items by type, every type present.
	Discrepancies map[string]int64 `json:"discrepancies"`
	// RowsOutsideWindow: statement rows whose time lies outside [from, to).
	RowsOutsideWindow int64 `json:"statementRowsOutsideWindow"`
	RowErrors         int64 `json:"rowErrors"`
}

// Compare compares a statement with the ledger entries of a window (see the
// package doc for the matching rules). The ledger is taken as given, in log
// order (Ledger collects it by receive time); from and to limit the
// statement rows that carry a time, rows without one always take part. The
// only error is ErrOverflow, when a side's sum does not fit in int64.
func Compare(st Statement, ledger []energy.LedgerEntry, from, to *time.Time) (Comparison, error) {
	w := Window{From: utcCopy(from), To: utcCopy(to)}
	c := Comparison{Items: []Discrepancy{}, RowErrors: slices.Clone(st.RowErrors)}
	c.From, c.To = w.bounds()
	if c.RowErrors == nil {
		c.RowErrors = []RowError{}
	}
	t := &c.Totals
	t.RowErrors = int64(len(c.RowErrors))
	t.Discrepancies = map[string]int64{MissingCallback: 0, NotOnStatement: 0, AmountMismatch: 0}

	type key struct{ order, hash string }
	keyOf := func(order, hash string, amount int64) (key, bool) {
		if hash == "" { // no hash: the amount is part of the key
			return key{order, "\x00" + strconv.FormatInt(amount, 10)}, false
		}
		return key{order, strings.ToLower(hash)}, true
	}
	var keys []key
	rows := map[key][]*StatementRow{}
	entries := map[key][]*energy.LedgerEntry{}
	hashed := map[key]bool{}
	for i := range st.Rows {
		r := &st.Rows[i]
		if r.Time != nil && !w.Contains(*r.Time) {
			t.RowsOutsideWindow++
			continue
		}
		sum, err := addSun(t.StatementSun, r.AmountSun)
		if err != nil {
			return Comparison{}, fmt.Errorf("statement total: %w", err)
		}
		t.StatementSun = sum
		t.StatementRows++
		k, h := keyOf(r.OrderID, r.Hash, r.AmountSun)
		if _, ok := rows[k]; !ok {
			if _, ok := entries[k]; !ok {
				keys = append(keys, k)
			}
		}
		rows[k] = append(rows[k], r)
		hashed[k] = h
	}
	for i := range ledger {
		e := &ledger[i]
		sum, err := addSun(t.LedgerSun, e.OrderMoneySun)
		if err != nil {
			return Comparison{}, fmt.Errorf("ledger total: %w", err)
		}
		t.LedgerSun = sum
		t.LedgerEntries++
		k, h := keyOf(e.OrderID, e.Hash, e.OrderMoneySun)
		if _, ok := entries[k]; !ok {
			if _, ok := rows[k]; !ok {
				keys = append(keys, k)
			}
		}
		entries[k] = append(entries[k], e)
		hashed[k] = h
	}

	for _, k := range keys {
		leftRows, leftEntries := pairEqual(rows[k], entries[k])
		t.Matched += int64(len(rows[k]) - len(leftRows))
		if hashed[k] {
			n := min(len(leftRows), len(leftEntries))
			for i := range n {
				r, e := leftRows[i], leftEntries[i]
				diff, err := subSun(r.AmountSun, e.OrderMoneySun)
				if err != nil {
					return Comparison{}, fmt.Errorf("order %s, hash %s: %w", r.OrderID, r.Hash, err)
				}
				d := statementSide(AmountMismatch, r)
				ledgerSide(&d, e)
				d.DifferenceSun, d.DifferenceTrx = diff, energy.FormatTrx(diff)
				c.Items = append(c.Items, d)
			}
			leftRows, leftEntries = leftRows[n:], leftEntries[n:]
		}
		for _, r := range leftRows {
			c.Items = append(c.Items, statementSide(MissingCallback, r))
		}
		for _, e := range leftEntries {
			d := Discrepancy{Type: NotOnStatement, OrderID: e.OrderID, Hash: e.Hash}
			ledgerSide(&d, e)
			c.Items = append(c.Items, d)
		}
	}
	for _, d := range c.Items {
		t.Discrepancies[d.Type]++
	}
	slices.SortStableFunc(c.Items, compareItems)

	diff, err := subSun(t.StatementSun, t.LedgerSun)
	if err != nil {
		return Comparison{}, fmt.Errorf("difference of the totals: %w", err)
	}
	t.DifferenceSun = diff
	t.StatementTrx, t.LedgerTrx, t.DifferenceTrx = energy.FormatTrx(t.StatementSun), energy.FormatTrx(t.LedgerSun), energy.FormatTrx(diff)
	return c, nil
}

// pairEqual pairs rows (file order) with entries (log order) of equal
// amount, first with first, and returns what is left of each, in order.
func pairEqual(rows []*StatementRow, entries []*energy.LedgerEntry) ([]*StatementRow, []*energy.LedgerEntry) {
	queue := map[int64][]int{}
	for i, e := range entries {
		queue[e.OrderMoneySun] = append(queue[e.OrderMoneySun], i)
	}
	used := make([]bool, len(entries))
	var leftRows []*StatementRow
	for _, r := range rows {
		q := queue[r.AmountSun]
		if len(q) == 0 {
			leftRows = append(leftRows, r)
			continue
		}
		used[q[0]] = true
		queue[r.AmountSun] = q[1:]
	}
	var leftEntries []*energy.LedgerEntry
	for i, e := range entries {
		if !used[i] {
			leftEntries = append(leftEntries, e)
		}
	}
	return leftRows, leftEntries
}

func statementSide(typ string, r *StatementRow) Discrepancy {
	return Discrepancy{Type: typ, OrderID: r.OrderID, Hash: r.Hash, Line: r.Line,
		StatementSun: r.AmountSun, StatementTrx: energy.FormatTrx(r.AmountSun)}
}

func ledgerSide(d *Discrepancy, e *energy.LedgerEntry) {
	d.EventID, d.LedgerSun, d.LedgerTrx, d.position = e.EventID, e.OrderMoneySun, energy.FormatTrx(e.OrderMoneySun), e.Position
}

// compareItems orders items by order, hash, then statement line (items
// with a line first), then log position.
func compareItems(a, b Discrepancy) int {
	if c := strings.Compare(a.OrderID, b.OrderID); c != 0 {
		return c
	}
	if c := strings.Compare(strings.ToLower(a.Hash), strings.ToLower(b.Hash)); c != 0 {
		return c
	}
	switch {
	case a.Line != 0 && b.Line != 0:
		return cmp.Compare(a.Line, b.Line)
	case a.Line != 0:
		return -1
	case b.Line != 0:
		return 1
	}
	switch {
	case a.position.Less(b.position):
		return -1
	case b.position.Less(a.position):
		return 1
	}
	return strings.Compare(a.EventID, b.EventID)
}
