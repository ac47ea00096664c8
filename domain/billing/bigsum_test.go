package billing_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// bigTrx formats a big sum of sun as TRX with 6 decimals, independently of energy.FormatTrx.
func bigTrx(sun *big.Int) string {
	q, r := new(big.Int).QuoRem(sun, big.NewInt(1_000_000), new(big.Int))
	return fmt.Sprintf("%s.%06d", q, r.Int64())
}

// Sums near 2^63 are exact to the sun: no float anywhere rounds them, and
// amounts a float64 cannot hold (2^53+1) add up exactly.
func TestLargeSumsAreExact(t *testing.T) {
	var events []domain.Event
	want := new(big.Int)
	add := func(order string, money any, sun int64) {
		events = append(events, cb(t, order, int64(len(events)+1), map[string]any{
			"totalDelegateNums": 1, "hash": hashOf(fmt.Sprint(len(events))), "orderMoney": money, "sign": len(events)}))
		want.Add(want, big.NewInt(sun))
	}
	base := int64(1) << 60
	for i := range int64(6) { // 6 × 2^60 + 2^60 (legacy) ≈ 8.07e18 in all, of MaxInt64 ≈ 9.22e18
		add(fmt.Sprintf("B%d", i), base+i*123_457, base+i*123_457)
	}
	odd := int64(1)<<53 + 1 // not representable in float64
	for range 3 {
		add("ODD", strconv.FormatInt(odd, 10), odd)
	}
	// Legacy decimal TRX with 19 significant digits: a float64 would round it.
	add("LEGACY", "1152921504606.846977", 1_152_921_504_606_846_977)
	add("LEGACY", "0.000001", 1)

	b := billing.NewReport(nil, nil)
	for _, e := range events {
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	r := b.Report()
	if !want.IsInt64() {
		t.Fatalf("the test's own sum %s overflows", want)
	}
	if r.Totals.ChargedSun != want.Int64() || r.Totals.ChargedTrx != bigTrx(want) {
		t.Fatalf("total %d %s, want %s %s", r.Totals.ChargedSun, r.Totals.ChargedTrx, want, bigTrx(want))
	}
	if want.Cmp(big.NewInt(1<<62)) <= 0 {
		t.Fatalf("the sum %s is not beyond 2^62", want)
	}
	for _, o := range r.Orders {
		if o.OrderID == "ODD" && o.ChargedSun != 3*odd {
			t.Errorf("ODD = %d, want %d", o.ChargedSun, 3*odd)
		}
		if o.OrderID == "LEGACY" && (o.ChargedSun != 1_152_921_504_606_846_978 || o.ChargedTrx != "1152921504606.846978") {
			t.Errorf("LEGACY = %d %s", o.ChargedSun, o.ChargedTrx)
		}
	}
	// The CSV keeps every digit.
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rows {
		if row[0] == "LEGACY" {
			found = true
			if row[4] != "1152921504606846978" || row[5] != "1152921504606.846978" {
				t.Fatalf("CSV row %v lost digits", row)
			}
		}
	}
	if !found {
		t.Fatalf("no LEGACY row in %v", rows)
	}

	// One more 2^60 would pass MaxInt64: refused, and the report stays exact.
	over := cb(t, "B-over", 99, map[string]any{"totalDelegateNums": 1, "orderMoney": base})
	if err := b.Add(over); !errors.Is(err, billing.ErrOverflow) || !errors.Is(err, energy.ErrOverflow) {
		t.Fatalf("Add beyond int64: err = %v, want ErrOverflow", err)
	}
	if again := b.Report(); mustJSON(t, again) != mustJSON(t, r) {
		t.Fatal("a refused event changed the report")
	}
	// Within one order: exactly MaxInt64 is kept, one sun more is refused.
	one := billing.NewReport(nil, nil)
	for i, money := range []int64{1 << 62, 1<<62 - 1, 1} {
		err := one.Add(cb(t, "SAME", int64(i+1), map[string]any{"totalDelegateNums": i + 1, "orderMoney": money}))
		if i < 2 && err != nil {
			t.Fatal(err)
		}
		if i == 2 && !errors.Is(err, energy.ErrOverflow) {
			t.Fatalf("one sun beyond MaxInt64 in one order: err = %v", err)
		}
	}
	if r := one.Report(); r.Totals.ChargedSun != math.MaxInt64 || r.Totals.ChargedTrx != "9223372036854.775807" {
		t.Fatalf("MaxInt64 total: %+v", r.Totals)
	}
}

// The comparison's sums are exact too, and refuse to overflow.
func TestLargeComparisonSums(t *testing.T) {
	h := hashOf("big")
	amount := 3*int64(1)<<60 + 7 // two fit in int64, three do not
	entries := []energy.LedgerEntry{{OrderID: "E1", Hash: h, OrderMoneySun: amount, EventID: "a"}}
	st, errs := billing.ParseStatement(strings.NewReader("orderId,hash,amountSun\nE1," + h + "," +
		strconv.FormatInt(amount+1, 10) + "\nE2,," + strconv.FormatInt(amount, 10) + "\nE3,," + strconv.FormatInt(amount, 10) + "\n"))
	// Two rows fit; the third would pass MaxInt64: a row error, not a wrapped total.
	if len(st.Rows) != 2 || len(errs) != 1 || errs[0].Line != 4 || errs[0].Column != "amountSun" {
		t.Fatalf("rows %+v errors %+v", st.Rows, errs)
	}
	c, err := billing.Compare(st, entries, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSt := new(big.Int).Add(big.NewInt(amount+1), big.NewInt(amount))
	if c.Totals.StatementSun != wantSt.Int64() || c.Totals.StatementTrx != bigTrx(wantSt) ||
		c.Totals.LedgerSun != amount || c.Totals.DifferenceSun != amount+1 || c.Totals.DifferenceTrx != bigTrx(big.NewInt(amount+1)) {
		t.Fatalf("totals %+v", c.Totals)
	}
	if c.Items[0].Type != billing.AmountMismatch || c.Items[0].DifferenceSun != 1 {
		t.Fatalf("items %+v", c.Items)
	}
	// A ledger whose sum passes MaxInt64 is an error.
	huge := []energy.LedgerEntry{{OrderID: "E1", OrderMoneySun: math.MaxInt64}, {OrderID: "E1", OrderMoneySun: 1}}
	if _, err := billing.Compare(billing.Statement{}, huge, nil, nil); !errors.Is(err, billing.ErrOverflow) {
		t.Fatalf("ledger overflow: err = %v", err)
	}
	// So is a statement built by hand whose sum does.
	rows := billing.Statement{Rows: []billing.StatementRow{{OrderID: "E", AmountSun: math.MaxInt64}, {OrderID: "E", AmountSun: 1}}}
	if _, err := billing.Compare(rows, nil, nil, nil); !errors.Is(err, billing.ErrOverflow) {
		t.Fatalf("statement overflow: err = %v", err)
	}
}
