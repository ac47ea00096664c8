package billing_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// entry is a ledger entry of order at log position seq.
func entry(order, hash string, sun int64, seq int64) energy.LedgerEntry {
	return energy.LedgerEntry{OrderID: order, Hash: hash, OrderMoneySun: sun, EventID: "ev-" + order + "-" + string(rune('a'+seq)),
		Position: domain.Position{Seq: seq}}
}

func TestCompare(t *testing.T) {
	h1, h2, h3 := hashOf("1"), hashOf("2"), hashOf("3")
	for _, tc := range []struct {
		name      string
		statement string
		ledger    []energy.LedgerEntry
		from, to  *time.Time
		items     string // JSON of the items
		totals    string // JSON of the totals
	}{
		{"all matched, hash case ignored",
			"orderId,hash,amountSun\nE1," + strings.ToUpper(h1) + ",5\nE1,,7\n",
			[]energy.LedgerEntry{entry("E1", "", 7, 1), entry("E1", h1, 5, 2)}, nil, nil,
			`[]`,
			`{"statementRows":2,"statementSun":12,"statementTrx":"0.000012","ledgerEntries":2,"ledgerSun":12,"ledgerTrx":"0.000012","differenceSun":0,"differenceTrx":"0.000000","matched":2,"discrepancies":{"AMOUNT_MISMATCH":0,"MISSING_CALLBACK":0,"NOT_ON_STATEMENT":0},"statementRowsOutsideWindow":0,"rowErrors":0}`},
		{"each kind",
			"orderId,hash,amountSun\nE1," + h1 + ",5\nE2," + h2 + ",9\n",
			[]energy.LedgerEntry{entry("E2", h2, 8, 1), entry("E3", h3, 4, 2)}, nil, nil,
			`[{"type":"MISSING_CALLBACK","orderId":"E1","hash":"` + h1 + `","line":2,"statementSun":5,"statementTrx":"0.000005"},` +
				`{"type":"AMOUNT_MISMATCH","orderId":"E2","hash":"` + h2 + `","line":3,"statementSun":9,"statementTrx":"0.000009","eventId":"ev-E2-b","ledgerSun":8,"ledgerTrx":"0.000008","differenceSun":1,"differenceTrx":"0.000001"},` +
				`{"type":"NOT_ON_STATEMENT","orderId":"E3","hash":"` + h3 + `","eventId":"ev-E3-c","ledgerSun":4,"ledgerTrx":"0.000004"}]`,
			`{"statementRows":2,"statementSun":14,"statementTrx":"0.000014","ledgerEntries":2,"ledgerSun":12,"ledgerTrx":"0.000012","differenceSun":2,"differenceTrx":"0.000002","matched":0,"discrepancies":{"AMOUNT_MISMATCH":1,"MISSING_CALLBACK":1,"NOT_ON_STATEMENT":1},"statementRowsOutsideWindow":0,"rowErrors":0}`},
		{"same order, other hash: not a mismatch",
			"orderId,hash,amountSun\nE1," + h1 + ",5\n",
			[]energy.LedgerEntry{entry("E1", h2, 5, 1)}, nil, nil,
			`[{"type":"MISSING_CALLBACK","orderId":"E1","hash":"` + h1 + `","line":2,"statementSun":5,"statementTrx":"0.000005"},` +
				`{"type":"NOT_ON_STATEMENT","orderId":"E1","hash":"` + h2 + `","eventId":"ev-E1-b","ledgerSun":5,"ledgerTrx":"0.000005"}]`, ""},
		{"a double charge listed once: the later entry is not on the statement",
			"orderId,hash,amountSun\nE1," + h1 + ",5\n",
			[]energy.LedgerEntry{entry("E1", h1, 5, 1), entry("E1", h1, 5, 2)}, nil, nil,
			`[{"type":"NOT_ON_STATEMENT","orderId":"E1","hash":"` + h1 + `","eventId":"ev-E1-c","ledgerSun":5,"ledgerTrx":"0.000005"}]`, ""},
		{"one hash, two amounts: equal amounts pair first, whatever the order",
			"orderId,hash,amountSun\nE1," + h1 + ",6\nE1," + h1 + ",5\n",
			[]energy.LedgerEntry{entry("E1", h1, 5, 1), entry("E1", h1, 7, 2)}, nil, nil,
			`[{"type":"AMOUNT_MISMATCH","orderId":"E1","hash":"` + h1 + `","line":2,"statementSun":6,"statementTrx":"0.000006","eventId":"ev-E1-c","ledgerSun":7,"ledgerTrx":"0.000007","differenceSun":-1,"differenceTrx":"-0.000001"}]`, ""},
		{"no hash: matched by amount in order, never a mismatch",
			"orderId,hash,amountSun\nE1,,5\nE1,,5\nE1,,6\n",
			[]energy.LedgerEntry{entry("E1", "", 5, 1), entry("E1", "", 7, 2), entry("E1", "", 5, 3)}, nil, nil,
			`[{"type":"MISSING_CALLBACK","orderId":"E1","hash":"","line":4,"statementSun":6,"statementTrx":"0.000006"},` +
				`{"type":"NOT_ON_STATEMENT","orderId":"E1","hash":"","eventId":"ev-E1-c","ledgerSun":7,"ledgerTrx":"0.000007"}]`, ""},
		{"the window limits statement rows with a time; the others always count",
			"orderId,hash,amountSun,time\nE1,,1,2026-11-22T09:59:59Z\nE1,,2,2026-11-22T10:00:00Z\nE1,,3,\nE1,,4,2026-11-22T11:00:00Z\n",
			[]energy.LedgerEntry{entry("E1", "", 2, 1), entry("E1", "", 3, 2)},
			ptr(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)), ptr(time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)),
			`[]`,
			`{"statementRows":2,"statementSun":5,"statementTrx":"0.000005","ledgerEntries":2,"ledgerSun":5,"ledgerTrx":"0.000005","differenceSun":0,"differenceTrx":"0.000000","matched":2,"discrepancies":{"AMOUNT_MISMATCH":0,"MISSING_CALLBACK":0,"NOT_ON_STATEMENT":0},"statementRowsOutsideWindow":2,"rowErrors":0}`},
		{"malformed rows are reported and take no part",
			"orderId,hash,amountSun\nE1,,1.96\nE1,,1960000\n",
			[]energy.LedgerEntry{entry("E1", "", 1_960_000, 1)}, nil, nil,
			`[]`,
			`{"statementRows":1,"statementSun":1960000,"statementTrx":"1.960000","ledgerEntries":1,"ledgerSun":1960000,"ledgerTrx":"1.960000","differenceSun":0,"differenceTrx":"0.000000","matched":1,"discrepancies":{"AMOUNT_MISMATCH":0,"MISSING_CALLBACK":0,"NOT_ON_STATEMENT":0},"statementRowsOutsideWindow":0,"rowErrors":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, errs := billing.ParseStatement(strings.NewReader(tc.statement))
			c, err := billing.Compare(st, tc.ledger, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, c.Items); got != tc.items {
				t.Errorf("items\n got  %s\n want %s", got, tc.items)
			}
			if got := mustJSON(t, c.Totals); tc.totals != "" && got != tc.totals {
				t.Errorf("totals\n got  %s\n want %s", got, tc.totals)
			}
			if len(c.RowErrors) != len(errs) {
				t.Errorf("row errors %v, parsed %v", c.RowErrors, errs)
			}
			// Every row and entry is accounted for exactly once.
			n := c.Totals.Discrepancies
			if c.Totals.Matched+n[billing.MissingCallback]+n[billing.AmountMismatch] != c.Totals.StatementRows ||
				c.Totals.Matched+n[billing.NotOnStatement]+n[billing.AmountMismatch] != c.Totals.LedgerEntries {
				t.Errorf("rows and entries not accounted for: %+v", c.Totals)
			}
		})
	}
}

// The JSON of a comparison: window, items, totals and rowErrors, never null lists.
func TestComparisonJSONShape(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c, err := billing.Compare(billing.Statement{}, nil, &from, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := mustJSON(t, c)
	want := `{"from":"2026-11-01T00:00:00Z","to":null,"items":[],"totals":{"statementRows":0,"statementSun":0,"statementTrx":"0.000000",` +
		`"ledgerEntries":0,"ledgerSun":0,"ledgerTrx":"0.000000","differenceSun":0,"differenceTrx":"0.000000","matched":0,` +
		`"discrepancies":{"AMOUNT_MISMATCH":0,"MISSING_CALLBACK":0,"NOT_ON_STATEMENT":0},"statementRowsOutsideWindow":0,"rowErrors":0},"rowErrors":[]}`
	if got != want {
		t.Fatalf("json\n got  %s\n want %s", got, want)
	}
	var back billing.Comparison
	if err := json.Unmarshal([]byte(got), &back); err != nil || mustJSON(t, back) != got {
		t.Fatalf("round trip: %v %s", err, mustJSON(t, back))
	}
}

// The ledger collector keeps the window's charges, each event once, in log order.
func TestLedgerCollects(t *testing.T) {
	from, to := t0.Add(2*time.Minute), t0.Add(5*time.Minute)
	a := cb(t, "E1", 1, map[string]any{"totalDelegateNums": 1, "orderMoney": 5})     // before
	b := cb(t, "E1", 2, map[string]any{"totalDelegateNums": 2, "orderMoney": 6})     // in
	c := cb(t, "E1", 3, map[string]any{"totalDelegateNums": 3, "orderMoney": 0})     // nothing charged
	d := cb(t, "E2", 4, map[string]any{"totalDelegateNums": 1, "orderMoney": "1.5"}) // in, legacy
	e := cb(t, "E1", 5, map[string]any{"totalDelegateNums": 4, "orderMoney": 8})     // at to: out
	l := billing.NewLedger(&from, &to)
	for _, ev := range []domain.Event{a, b, c, d, b, e, {Type: "carwash.FINISH_WASH", Metadata: domain.Metadata{ReceivedAt: from}}} {
		if err := l.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	got := l.Entries()
	if len(got) != 2 || got[0].EventID != b.ID || got[1].EventID != d.ID || got[1].OrderMoneySun != 1_500_000 {
		t.Fatalf("entries %+v", got)
	}
	bad := b
	bad.ID, bad.Data = "bad", []byte(`{"orderId":"E1","orderMoney":"x"}`)
	if err := l.Add(bad); err == nil {
		t.Fatal("unreadable event: no error")
	}
}
