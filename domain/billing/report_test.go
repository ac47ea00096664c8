package billing_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// deliveryOrders returns the orders worth delivering events in: as logged,
// reversed, and every event twice (a retry stored again by a careless
// store must still count once).
func deliveryOrders(ev []domain.Event) map[string][]domain.Event {
	rev := slices.Clone(ev)
	slices.Reverse(rev)
	var twice []domain.Event
	for i := range ev {
		twice = append(twice, ev[i], rev[i])
	}
	return map[string][]domain.Event{"in order": ev, "reversed": rev, "each twice": twice}
}

// Each anomaly appears in the report with domain.md's shape and is counted
// in the totals, whatever the delivery order and however often an event is
// delivered.
func TestReportAnomalies(t *testing.T) {
	h, h2 := hashOf("d1"), hashOf("d2")
	c := func(seq int64, f map[string]any) domain.Event { return cb(t, "E1", seq, f) }
	charged := c(1, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": 2_000_000, "maxDelegateNums": 5})
	second := c(2, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": "2.0", "maxDelegateNums": 5, "sign": "x"})
	deleted := c(3, map[string]any{"totalDelegateNums": 2, "hash": h2, "orderMoney": 7, "state": 2, "maxDelegateNums": 5})
	for _, tc := range []struct {
		name   string
		events []domain.Event
		want   []energy.Anomaly
		sun    int64
	}{
		{"clean order", []domain.Event{charged, c(2, map[string]any{"totalDelegateNums": 2, "hash": h2, "orderMoney": 5})},
			[]energy.Anomaly{}, 2_000_005},
		{"gap with the missing numbers", []domain.Event{
			c(1, map[string]any{"totalDelegateNums": 1, "orderMoney": 1}),
			c(2, map[string]any{"totalDelegateNums": 2, "orderMoney": 1}),
			c(3, map[string]any{"totalDelegateNums": 4, "orderMoney": 1}),
			c(4, map[string]any{"totalDelegateNums": 6, "orderMoney": 1})},
			[]energy.Anomaly{{Type: energy.AnomalyDelegationGap, Missing: []int64{3, 5}}}, 4},
		{"a retry is not a duplicate charge", []domain.Event{charged, charged, charged}, []energy.Anomaly{}, 2_000_000},
		{"two distinct callbacks with one hash are", []domain.Event{charged, second},
			[]energy.Anomaly{{Type: energy.AnomalyDuplicateCharge, Hash: h, EventIDs: ids(charged, second)}}, 4_000_000},
		{"over limit", []domain.Event{
			c(1, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 1, "orderMoney": 3}),
			c(2, map[string]any{"totalDelegateNums": 2, "maxDelegateNums": 1, "orderMoney": 3})},
			[]energy.Anomaly{{Type: energy.AnomalyOverLimit, TotalDelegateNums: 2, MaxDelegateNums: 1}}, 6},
		{"charge on deleted", []domain.Event{charged, deleted},
			[]energy.Anomaly{{Type: energy.AnomalyChargeOnDeleted, EventIDs: ids(deleted)}}, 2_000_007},
		{"deleted without a charge", []domain.Event{charged,
			c(3, map[string]any{"totalDelegateNums": 2, "hash": h2, "orderMoney": 0, "state": 2})}, []energy.Anomaly{}, 2_000_000},
	} {
		for how, events := range deliveryOrders(tc.events) {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				r := build(t, nil, nil, events...)
				if len(r.Orders) != 1 || r.Orders[0].OrderID != "E1" {
					t.Fatalf("orders = %+v", r.Orders)
				}
				o := r.Orders[0]
				if !reflect.DeepEqual(o.Anomalies, tc.want) {
					t.Errorf("anomalies = %s, want %s", mustJSON(t, o.Anomalies), mustJSON(t, tc.want))
				}
				if o.ChargedSun != tc.sun || o.ChargedTrx != energy.FormatTrx(tc.sun) || r.Totals.ChargedSun != tc.sun {
					t.Errorf("charged %d %q, totals %d; want %d", o.ChargedSun, o.ChargedTrx, r.Totals.ChargedSun, tc.sun)
				}
				wantCounts := map[string]int64{}
				for _, a := range tc.want {
					wantCounts[a.Type]++
				}
				if !reflect.DeepEqual(r.Totals.Anomalies, wantCounts) {
					t.Errorf("totals.anomalies = %v, want %v", r.Totals.Anomalies, wantCounts)
				}
			})
		}
	}
}

// The report's figures are those of the order read model (energy.Fold).
func TestReportFiguresMatchTheFold(t *testing.T) {
	h := []string{hashOf("a"), hashOf("b"), hashOf("c")}
	events := []domain.Event{
		cb(t, "E2", 1, map[string]any{"totalDelegateNums": 1, "hash": h[0], "energyNums": 0, "orderMoney": "1.96"}),
		cb(t, "E1", 2, map[string]any{"totalDelegateNums": 1, "hash": h[1], "energyNums": "65000", "orderMoney": "2000000"}),
		cb(t, "E2", 3, map[string]any{"totalDelegateNums": 2, "hash": h[2], "energyNums": 65000, "orderMoney": 1_500_000}),
		cb(t, "E2", 4, map[string]any{"totalDelegateNums": 2, "recharge": 1, "energyNums": 0, "orderMoney": 40}),
		cb(t, "E3", 5, map[string]any{"totalDelegateNums": 1, "orderMoney": 0}),
		{ID: "other", Type: "carwash.FINISH_WASH", Data: []byte(`{"iotId":1}`), Metadata: domain.Metadata{ReceivedAt: t0}},
	}
	r := build(t, nil, nil, events...)
	want := billing.Report{Orders: []billing.OrderLine{
		{OrderID: "E1", Callbacks: 1, Delegations: 1, EnergyTotal: 65000, ChargedSun: 2_000_000, ChargedTrx: "2.000000", Anomalies: []energy.Anomaly{}},
		{OrderID: "E2", Callbacks: 3, Delegations: 2, EnergyTotal: 65000, ChargedSun: 3_460_040, ChargedTrx: "3.460040", Anomalies: []energy.Anomaly{}},
		{OrderID: "E3", Callbacks: 1, ChargedTrx: "0.000000", Anomalies: []energy.Anomaly{}},
	}, Totals: billing.Totals{Orders: 3, Callbacks: 5, Delegations: 3, EnergyTotal: 130000, ChargedSun: 5_460_040,
		ChargedTrx: "5.460040", Anomalies: map[string]int64{}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("report\n got  %s\n want %s", mustJSON(t, r), mustJSON(t, want))
	}
	for _, o := range r.Orders {
		var mine []domain.Event
		for _, e := range events {
			if e.Stream == energy.StreamOf(o.OrderID) {
				mine = append(mine, e)
			}
		}
		s, err := energy.Fold(mine)
		if err != nil {
			t.Fatal(err)
		}
		f := s.Order
		if f.Callbacks != o.Callbacks || f.Delegations != o.Delegations || f.EnergyTotal != o.EnergyTotal ||
			f.ChargedSun != o.ChargedSun || f.ChargedTrx != o.ChargedTrx || f.Anomalies != int64(len(o.Anomalies)) {
			t.Errorf("%s: report %+v, read model %+v", o.OrderID, o, f)
		}
	}
}

// The window is [from, to) on the receive time, falling back to the commit
// time when an event has none; per-order figures use the window's events.
func TestReportWindow(t *testing.T) {
	from, to := t0.Add(10*time.Minute), t0.Add(20*time.Minute)
	in := func(seq int64, total int) domain.Event {
		return cb(t, "E1", seq, map[string]any{"totalDelegateNums": total, "orderMoney": 10 * total})
	}
	before := at(in(1, 1), from.Add(-time.Nanosecond))
	first := at(in(2, 2), from)
	middle := at(in(3, 3), from.Add(5*time.Minute))
	last := at(in(4, 4), to.Add(-time.Nanosecond))
	after := at(in(5, 5), to)
	noReceive := in(6, 6) // received at no time: its commit time counts
	noReceive.Metadata.ReceivedAt = time.Time{}
	noReceive.RecordedAt = from.Add(time.Minute)
	late := in(7, 7)
	late.Metadata.ReceivedAt = to.Add(time.Hour)
	late.RecordedAt = from // the receive time wins over the commit time

	r := build(t, &from, &to, before, first, middle, last, after, noReceive, late)
	if r.From == nil || !r.From.Equal(from) || r.To == nil || !r.To.Equal(to) {
		t.Fatalf("window = %v, %v", r.From, r.To)
	}
	if len(r.Orders) != 1 {
		t.Fatalf("orders = %+v", r.Orders)
	}
	o := r.Orders[0]
	if o.Callbacks != 4 || o.ChargedSun != 10*(2+3+4+6) {
		t.Fatalf("window kept %d callbacks, %d sun; want first, middle, last and the one without a receive time", o.Callbacks, o.ChargedSun)
	}
	// Number 1 came before the window, so it was not lost; number 5 came
	// only after the window's end, so at that end it was missing.
	want := []energy.Anomaly{{Type: energy.AnomalyDelegationGap, Missing: []int64{5}}}
	if !reflect.DeepEqual(o.Anomalies, want) {
		t.Errorf("anomalies = %s, want %s", mustJSON(t, o.Anomalies), mustJSON(t, want))
	}
	if r := build(t, &to, nil, before, first, after); len(r.Orders) != 1 || r.Orders[0].Callbacks != 1 || r.To != nil {
		t.Errorf("[to, ∞): %s", mustJSON(t, r))
	}
	if r := build(t, &to, &to, before, first, after); len(r.Orders) != 0 || r.Totals.Orders != 0 {
		t.Errorf("empty window: %s", mustJSON(t, r))
	}
}

// A window given in another zone is answered in UTC.
func TestReportWindowInUTC(t *testing.T) {
	zone := time.FixedZone("ICT", 7*3600)
	from := time.Date(2026, 11, 1, 7, 0, 0, 0, zone)
	r := build(t, &from, nil)
	if got := mustJSON(t, r); !strings.HasPrefix(got, `{"from":"2026-11-01T00:00:00Z","to":null,`) {
		t.Fatalf("json = %s", got)
	}
}

// The JSON is api.md's Reconciliation object.
func TestReportJSONShape(t *testing.T) {
	h := "ab12" + hashOf("x")[4:]
	events := []domain.Event{
		cb(t, "E00000001", 1, map[string]any{"totalDelegateNums": 1, "hash": h, "energyNums": 65000, "orderMoney": 33_000_000}),
		cb(t, "E00000001", 2, map[string]any{"totalDelegateNums": 2, "hash": hashOf("2"), "energyNums": 65000, "orderMoney": 33_000_000}),
		cb(t, "E00000001", 3, map[string]any{"totalDelegateNums": 4, "hash": hashOf("4"), "energyNums": 65000, "orderMoney": 33_000_000}),
		cb(t, "E00000001", 4, map[string]any{"totalDelegateNums": 1, "hash": h, "energyNums": 65000, "orderMoney": 33_000_000, "sign": "again"}),
		cb(t, "E00000001", 5, map[string]any{"totalDelegateNums": 4, "recharge": 1, "orderMoney": 0}),
	}
	r := build(t, nil, nil, events...)
	dup := ids(events[0], events[3])
	want := `{"from":null,"to":null,` +
		`"orders":[{"orderId":"E00000001","callbacks":5,"delegations":3,"energyTotal":260000,"chargedSun":132000000,` +
		`"chargedTrx":"132.000000",` +
		`"anomalies":[{"type":"DELEGATION_GAP","missing":[3]},{"type":"DUPLICATE_CHARGE","hash":"` + h + `","eventIds":["` + dup[0] + `","` + dup[1] + `"]}]}],` +
		`"totals":{"orders":1,"callbacks":5,"delegations":3,"energyTotal":260000,"chargedSun":132000000,"chargedTrx":"132.000000",` +
		`"anomalies":{"DELEGATION_GAP":1,"DUPLICATE_CHARGE":1}}}`
	if got := mustJSON(t, r); got != want {
		t.Fatalf("json\n got  %s\n want %s", got, want)
	}
	if got := mustJSON(t, billing.NewReport(nil, nil).Report()); got != `{"from":null,"to":null,"orders":[],"totals":{"orders":0,"callbacks":0,"delegations":0,"energyTotal":0,"chargedSun":0,"chargedTrx":"0.000000","anomalies":{}}}` {
		t.Fatalf("empty report json = %s", got)
	}
}

// An event the fold cannot read is an error, and the builder is unchanged.
func TestReportRefusesUnreadableEvents(t *testing.T) {
	good := cb(t, "E1", 1, map[string]any{"totalDelegateNums": 1, "orderMoney": 5})
	b := billing.NewReport(nil, nil)
	if err := b.Add(good); err != nil {
		t.Fatal(err)
	}
	before := mustJSON(t, b.Report())
	for _, data := range []string{`{"orderId":"E1","orderMoney":"x"}`, `not json`, `{"orderMoney":5}`} {
		bad := good
		bad.ID, bad.Data = "bad", []byte(data)
		if err := b.Add(bad); err == nil {
			t.Errorf("%s: no error", data)
		}
	}
	if after := mustJSON(t, b.Report()); after != before {
		t.Fatalf("builder changed by refused events:\n%s\n%s", before, after)
	}
}

// A report taken while events still arrive equals one rebuilt from the
// same prefix of the log, and the final one equals a rebuild of it all.
func TestReportLiveEqualsRebuild(t *testing.T) {
	var events []domain.Event
	for i := range 60 {
		order := []string{"E1", "E2", "E3"}[i%3]
		events = append(events, cb(t, order, int64(i+1), map[string]any{"totalDelegateNums": 1 + (i*7)%9,
			"hash": hashOf(order + string(rune('a'+(i*7)%9))), "orderMoney": 1000 + i, "sign": i}))
	}
	live := billing.NewReport(nil, nil)
	for i, e := range events {
		if err := live.Add(e); err != nil {
			t.Fatal(err)
		}
		if i%17 == 0 || i == len(events)-1 {
			rebuilt := build(t, nil, nil, events[:i+1]...)
			if got, want := mustJSON(t, live.Report()), mustJSON(t, rebuilt); got != want {
				t.Fatalf("after %d events, live\n %s\nrebuilt\n %s", i+1, got, want)
			}
		}
	}
	if r := live.Report(); r.Totals.Anomalies[energy.AnomalyDuplicateCharge] == 0 {
		t.Fatalf("the test plants duplicate charges: %s", mustJSON(t, r.Totals))
	}
}

func TestOverflowIsEnergyOverflow(t *testing.T) {
	if !errors.Is(billing.ErrOverflow, energy.ErrOverflow) {
		t.Fatal("billing.ErrOverflow does not wrap energy.ErrOverflow")
	}
}
