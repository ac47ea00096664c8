package energy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

func TestSnapshotFromGreatestTotal(t *testing.T) {
	a := event(t, body(t, map[string]any{"totalDelegateNums": 3, "residue": 7, "outTradeNo": "A", "state": 1}), 1)
	b := event(t, body(t, map[string]any{"totalDelegateNums": 5, "residue": 5, "outTradeNo": "B", "state": 0}), 2)
	c := event(t, body(t, map[string]any{"totalDelegateNums": 4, "residue": 6, "outTradeNo": "C", "state": 1}), 3)
	for _, order := range [][]domain.Event{{a, b, c}, {c, b, a}, {b, a, c}, {a, c, b}} {
		o := fold(t, order...).Order
		if o.TotalDelegateNums != 5 || o.Residue != 5 || o.OutTradeNo != "B" || stateOf(o) != "stopped 0" {
			t.Errorf("snapshot = %+v, want the total-5 callback's fields", o)
		}
	}
}

func TestSnapshotTieGoesToLaterStored(t *testing.T) {
	first := event(t, body(t, map[string]any{"totalDelegateNums": 5, "residue": 1, "state": 1}), 7)
	later := event(t, body(t, map[string]any{"totalDelegateNums": 5, "residue": 2, "state": 0}), 8)
	later.Position = domain.Position{TxID: 9, Seq: 3} // commit order, not seq alone
	first.Position = domain.Position{TxID: 8, Seq: 4}
	for _, order := range [][]domain.Event{{first, later}, {later, first}} {
		if o := fold(t, order...).Order; o.Residue != 2 || stateOf(o) != "stopped 0" {
			t.Errorf("tie: residue %d state %s, want the later-stored callback's", o.Residue, stateOf(o))
		}
	}
	// Equal positions (events not stored yet): the greater event id wins, in any order.
	first.Position, later.Position = domain.Position{}, domain.Position{}
	x, y := fold(t, first, later).Order, fold(t, later, first).Order
	if x != y {
		t.Errorf("equal positions depend on order: %+v vs %+v", x, y)
	}
}

// A field the snapshot callback lacks keeps the value of the greatest
// callback that sent it: a callback without state does not make a
// delegating order "unknown", and one without an address does not blank it.
func TestSnapshotFieldNotSentKeepsTheLastSentValue(t *testing.T) {
	const addr = "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
	a := event(t, body(t, map[string]any{"totalDelegateNums": 1, "state": 1, "residue": 9, "receiveAddress": addr, "outTradeNo": "A", "autoType": 1}), 1)
	b := event(t, body(t, map[string]any{"totalDelegateNums": 2, "residue": 8, "outTradeNo": "B", "receiveAddress": ""}), 2)
	c := event(t, body(t, map[string]any{"totalDelegateNums": 3, "residue": 7, "state": nil, "payment": 1}), 3)
	want := func(name string, o Order, w Order) {
		t.Helper()
		w.OrderID, w.Callbacks, w.LastCallbackAt = o.OrderID, o.Callbacks, o.LastCallbackAt
		w.Delegations, w.Anomalies, w.ChargedTrx = o.Delegations, o.Anomalies, o.ChargedTrx
		if o != w {
			t.Errorf("%s:\n %+v\nwant\n %+v", name, o, w)
		}
	}
	ab := Order{TotalDelegateNums: 2, Residue: 8, ReceiveAddress: addr, OutTradeNo: "B", AutoType: 1}
	ab.SetState(StateDelegating)
	abc := Order{TotalDelegateNums: 3, Residue: 7, ReceiveAddress: addr, OutTradeNo: "B", AutoType: 1, Payment: 1}
	abc.SetState(StateDelegating)
	for _, order := range [][]domain.Event{{a, b}, {b, a}} {
		want("a, b", fold(t, order...).Order, ab)
	}
	for _, order := range [][]domain.Event{{a, b, c}, {c, b, a}, {b, c, a}, {c, a, b}, {a, c, b}, {b, a, c}} {
		want("a, b, c", fold(t, order...).Order, abc)
	}
	// A later, greater callback that sends the field wins over the older source.
	d := event(t, body(t, map[string]any{"totalDelegateNums": 4, "state": 0, "outTradeNo": "D"}), 4)
	abcd := abc
	abcd.SetState(StateStopped)
	abcd.TotalDelegateNums, abcd.OutTradeNo, abcd.Residue = 4, "D", 7
	for _, order := range [][]domain.Event{{a, b, c, d}, {d, c, b, a}, {c, d, a, b}} {
		want("a, b, c, d", fold(t, order...).Order, abcd)
	}
	// The kept sources survive the state's JSON (a projection resumes from it).
	s := fold(t, c, b)
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back OrderState
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	next, err := Evolve(back, a)
	if err != nil {
		t.Fatal(err)
	}
	want("resumed from JSON", next.Order, abc)
}

func TestDeletedIsFinal(t *testing.T) {
	del := event(t, body(t, map[string]any{"totalDelegateNums": 3, "state": 2, "residue": 0}), 1)
	later := event(t, body(t, map[string]any{"totalDelegateNums": 5, "state": 1, "residue": 9}), 2)
	for _, order := range [][]domain.Event{{del, later}, {later, del}} {
		o := fold(t, order...).Order
		if stateOf(o) != "deleted 2" || o.Residue != 9 || o.TotalDelegateNums != 5 {
			t.Errorf("order = %+v; want deleted, other fields from the total-5 callback", o)
		}
	}
}

func TestStateNotSentIsNull(t *testing.T) {
	o := fold(t, event(t, body(t, map[string]any{"totalDelegateNums": 1}), 1)).Order
	if o.State != nil || o.StateCode != nil {
		t.Errorf("state %s", stateOf(o))
	}
	doc, err := json.Marshal(o)
	if err != nil || !strings.Contains(string(doc), `"state":null,"stateCode":null`) {
		t.Errorf("JSON %s, %v", doc, err)
	}
	for code, name := range map[int64]string{0: "stopped", 1: "delegating", 2: "deleted", 3: "unknown"} {
		if StateName(code) != name {
			t.Errorf("StateName(%d) = %q", code, StateName(code))
		}
	}
}

func TestAggregatesOverDistinctCallbacks(t *testing.T) {
	h1, h2 := hashOf("d1"), hashOf("d2")
	a := event(t, body(t, map[string]any{"totalDelegateNums": 1, "hash": h1, "energyNums": "65000", "orderMoney": 2000000}), 1)
	b := event(t, body(t, map[string]any{"totalDelegateNums": 2, "hash": h2, "energyNums": 65000, "orderMoney": "1.96"}), 2)
	c := event(t, body(t, map[string]any{"totalDelegateNums": 2, "hash": "", "energyNums": 0, "orderMoney": 500000, "recharge": 1}), 3)
	d := event(t, body(t, map[string]any{"totalDelegateNums": 2, "hash": h2, "energyNums": 0, "orderMoney": 0}), 4)
	d.Metadata.ReceivedAt = time.Time{} // falls back to RecordedAt
	d.RecordedAt = t0.Add(time.Hour)
	// a retry of b, re-serialised: the same event id
	bRetry := event(t, []byte(`{"orderMoney":"1.96", "energyNums":65000,"hash":"`+h2+`","totalDelegateNums":2,"orderId":"E1"}`), 9)
	if bRetry.ID != b.ID {
		t.Fatal("re-serialised retry has another id")
	}
	bRetry.Position = b.Position
	want := Order{OrderID: "E1", TotalDelegateNums: 2, Recharge: 1, Callbacks: 4, Delegations: 2,
		EnergyTotal: 130000, ChargedSun: 4460000, ChargedTrx: "4.460000", LastCallbackAt: "2026-11-22T11:00:00Z"}
	for _, order := range [][]domain.Event{{a, b, c, d}, {d, c, b, a, b}, {b, bRetry, a, d, c, a, d}} {
		o := fold(t, order...).Order
		// The snapshot is the later-stored of the total-2 callbacks (d);
		// recharge, which d lacks, comes from c, the greatest that sent it.
		if o != want {
			t.Errorf("order =\n %+v\nwant\n %+v", o, want)
		}
	}
}

// Hashes are hex: one transaction whatever the case, as on a statement.
func TestHashesCompareWithoutCase(t *testing.T) {
	h := hashOf("tx")
	a := event(t, body(t, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": 1000000}), 1)
	b := event(t, body(t, map[string]any{"totalDelegateNums": 2, "hash": strings.ToUpper(h), "orderMoney": 1000000}), 2)
	s := fold(t, a, b)
	if s.Order.Delegations != 1 || s.Order.Anomalies != 1 {
		t.Fatalf("delegations %d anomalies %d, want one delegation and a duplicate charge", s.Order.Delegations, s.Order.Anomalies)
	}
	if an := Anomalies(s); len(an) != 1 || an[0].Type != "DUPLICATE_CHARGE" || an[0].Hash != h {
		t.Fatalf("anomalies %+v", an)
	}
}

func TestLastCallbackAtIsGreatestReceiveTime(t *testing.T) {
	a := event(t, body(t, map[string]any{"residue": 1}), 1)
	b := event(t, body(t, map[string]any{"residue": 2}), 2)
	b.Metadata.ReceivedAt = time.Date(2026, 11, 22, 11, 5, 0, 123456789, time.FixedZone("X", 3600))
	for _, order := range [][]domain.Event{{a, b}, {b, a}} {
		if got := fold(t, order...).Order.LastCallbackAt; got != "2026-11-22T10:05:00.123456789Z" {
			t.Errorf("lastCallbackAt = %s", got)
		}
	}
}

func TestEvolveIgnoresOtherTypesAndRefusesOtherOrders(t *testing.T) {
	a := event(t, body(t, map[string]any{"residue": 1}), 1)
	s := fold(t, a)
	other := a
	other.Type = "energy.Something"
	other.ID = "x"
	if s2, err := Evolve(s, other); err != nil || !reflect.DeepEqual(s2.Order, s.Order) {
		t.Errorf("other type changed the state: %v", err)
	}
	b := event(t, []byte(`{"orderId":"E2"}`), 2)
	if _, err := Evolve(s, b); !errors.Is(err, ErrOtherOrder) {
		t.Errorf("other order: err = %v", err)
	}
	bad := a
	bad.ID, bad.Data = "y", []byte(`{"orderId":"E1","state":"x"}`)
	if _, err := Evolve(s, bad); !errors.Is(err, domain.ErrInvalidCallback) {
		t.Errorf("unreadable data: err = %v", err)
	}
	noID := a
	noID.ID = ""
	if s2, err := Evolve(s, noID); err != nil || s2.Order.Callbacks != 1 {
		t.Errorf("an event without id is keyed by its data's id: %d callbacks, %v", s2.Order.Callbacks, err)
	}
}

func TestLargeSumsAreExactAndNeverWrap(t *testing.T) {
	// Beyond MaxOrderMoneySun: refused at the door today, but a log may hold it.
	a := storedEvent(t, body(t, map[string]any{"orderMoney": int64(math.MaxInt64 - 1), "totalDelegateNums": 1}), 1)
	b := event(t, body(t, map[string]any{"orderMoney": 1, "totalDelegateNums": 2}), 2)
	s := fold(t, a, b)
	if s.Order.ChargedSun != math.MaxInt64 || s.Order.ChargedTrx != "9223372036854.775807" {
		t.Fatalf("sum = %d %s", s.Order.ChargedSun, s.Order.ChargedTrx)
	}
	c := event(t, body(t, map[string]any{"orderMoney": 1, "totalDelegateNums": 3}), 3)
	got, err := Fold([]domain.Event{a, b, c})
	if !errors.Is(err, ErrOverflow) || !reflect.DeepEqual(got.Order, s.Order) {
		t.Fatalf("overflow: %v, state %+v", err, got.Order)
	}
	// At the bounds, 92 callbacks still sum exactly.
	events := make([]domain.Event, 92)
	for i := range events {
		events[i] = event(t, body(t, map[string]any{"orderMoney": MaxOrderMoneySun, "energyNums": MaxEnergyNums, "totalDelegateNums": i + 1}), int64(i+1))
	}
	if o := fold(t, events...).Order; o.ChargedSun != 92*MaxOrderMoneySun || o.EnergyTotal != 92*MaxEnergyNums {
		t.Fatalf("92 callbacks at the bounds: %d sun, %d energy", o.ChargedSun, o.EnergyTotal)
	}
	// Many large legacy-TRX charges add up exactly.
	events = events[:0]
	for i := range 1000 {
		events = append(events, event(t, body(t, map[string]any{"orderMoney": "9000000.123457", "totalDelegateNums": i + 1}), int64(i+1)))
	}
	if o := fold(t, events...).Order; o.ChargedSun != 9000000123457000 || o.ChargedTrx != "9000000123.457000" {
		t.Fatalf("1000 × 9000000.123457 TRX = %d sun (%s)", o.ChargedSun, o.ChargedTrx)
	}
}

// Evolve is pure: a state kept by the caller never changes, and folding on
// from an old state (a fork) is as good as folding from scratch. Prefixes
// of several lengths put spare capacity in Seen, where aliasing would bite.
func TestEvolveIsPure(t *testing.T) {
	var ev []domain.Event
	for i := range 9 {
		ev = append(ev, event(t, body(t, map[string]any{"totalDelegateNums": i + 1, "hash": hashOf(string(rune('a' + i%3))),
			"orderMoney": 1000000, "state": i % 3}), int64(i+1)))
	}
	with := func(prefix []domain.Event, more ...domain.Event) OrderState {
		return fold(t, append(slices.Clone(prefix), more...)...)
	}
	same := func(name string, got, want OrderState) {
		t.Helper()
		if got.Order != want.Order || !slices.Equal(got.Seen, want.Seen) || !reflect.DeepEqual(Anomalies(got), Anomalies(want)) {
			t.Errorf("%s:\n %+v\nwant\n %+v", name, got.Order, want.Order)
		}
	}
	for k := 1; k <= 5; k++ {
		s := fold(t, ev[:k]...)
		before, _ := json.Marshal(s)
		x, _ := Evolve(s, ev[k])   // s is the tip: may extend in place
		y, _ := Evolve(s, ev[k+1]) // a fork of s
		z, _ := Evolve(s, ev[0])   // a replay on a stale state...
		z, _ = Evolve(z, ev[k+2])  // ...must not make it a writer of s's array
		x2, _ := Evolve(x, ev[k+3])
		if after, _ := json.Marshal(s); string(before) != string(after) {
			t.Fatalf("k=%d: the kept state changed:\n%s\n%s", k, before, after)
		}
		same("x", x, with(ev[:k], ev[k]))
		same("y", y, with(ev[:k], ev[k+1]))
		same("z", z, with(ev[:k], ev[k+2]))
		same("x2", x2, with(ev[:k], ev[k], ev[k+3]))
	}
}

// A projection persists OrderState as JSON and folds on after reloading it.
func TestOrderStateJSONRoundTrip(t *testing.T) {
	var ev []domain.Event
	for i := range 8 {
		ev = append(ev, event(t, body(t, map[string]any{"totalDelegateNums": (i * 5) % 7, "hash": hashOf(string(rune('a' + i%3))),
			"orderMoney": 1000000 * (i % 2), "state": i % 3, "maxDelegateNums": 4}), int64(i+1)))
	}
	mid := fold(t, ev[:4]...)
	b, err := json.Marshal(mid)
	if err != nil {
		t.Fatal(err)
	}
	var loaded OrderState
	if err := json.Unmarshal(b, &loaded); err != nil {
		t.Fatal(err)
	}
	for _, e := range ev[2:] { // with replays of already-applied events
		if loaded, err = Evolve(loaded, e); err != nil {
			t.Fatal(err)
		}
	}
	whole := fold(t, ev...)
	if !reflect.DeepEqual(loaded.Order, whole.Order) || !reflect.DeepEqual(Anomalies(loaded), Anomalies(whole)) {
		t.Errorf("reloaded fold:\n %+v\nwhole fold:\n %+v", loaded.Order, whole.Order)
	}
}

// The Order JSON has exactly api.md's keys, in its order.
func TestOrderJSONShape(t *testing.T) {
	const apiExample = `{"orderId":"201411301111","outTradeNo":"A-1","receiveAddress":"T...","state":"delegating","stateCode":1,
 "autoType":0,"payment":1,"recharge":1,"resourceType":0,"source":2,"maxDelegateNums":10,"totalDelegateNums":6,
 "residue":4,"detentionChargeTime":6,"callbacks":7,"delegations":6,"energyTotal":390000,
 "chargedSun":264000000,"chargedTrx":"264.000000","anomalies":0,"lastCallbackAt":"2026-11-22T10:00:00Z"}`
	var o Order
	dec := json.NewDecoder(stringReader(apiExample))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(o)
	keys := regexp.MustCompile(`"(\w+)":`)
	got, want := keys.FindAllString(string(b), -1), keys.FindAllString(apiExample, -1)
	if !slices.Equal(got, want) {
		t.Errorf("keys %v\nwant %v", got, want)
	}
	if o.ChargedTrx != FormatTrx(o.ChargedSun) {
		t.Error("example's chargedTrx is not FormatTrx(chargedSun)")
	}
}

// stateOf renders an order's state and code ("delegating 1"; "<nil>" when unset).
func stateOf(o Order) string {
	if o.State == nil || o.StateCode == nil {
		return fmt.Sprintf("%v %v", o.State, o.StateCode)
	}
	return fmt.Sprintf("%s %d", *o.State, *o.StateCode)
}
