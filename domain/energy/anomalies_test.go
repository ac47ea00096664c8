package energy

import (
	"reflect"
	"slices"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// deliveries returns events in every delivery order worth trying: as stored,
// reversed, and each event twice, interleaved.
func deliveries(ev []domain.Event) [][]domain.Event {
	rev := slices.Clone(ev)
	slices.Reverse(rev)
	var twice []domain.Event
	for i := range ev {
		twice = append(twice, ev[i], rev[i])
	}
	return [][]domain.Event{ev, rev, twice}
}

func TestAnomalies(t *testing.T) {
	h := hashOf("delegation")
	cb := func(seq int64, f map[string]any) domain.Event { return event(t, body(t, f), seq) }
	// A retry: same body, same stored event.
	charged := cb(1, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": 2000000, "state": 1})
	for _, c := range []struct {
		name   string
		events []domain.Event
		want   []Anomaly
	}{
		{"none", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 3}),
			cb(2, map[string]any{"totalDelegateNums": 2, "maxDelegateNums": 3}),
			cb(3, map[string]any{"totalDelegateNums": 3, "maxDelegateNums": 3})}, []Anomaly{}},
		{"gap", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 1}),
			cb(2, map[string]any{"totalDelegateNums": 2}),
			cb(3, map[string]any{"totalDelegateNums": 4}),
			cb(4, map[string]any{"totalDelegateNums": 6}),
			cb(5, map[string]any{"totalDelegateNums": 6, "recharge": 1})},
			[]Anomaly{{Type: AnomalyDelegationGap, Missing: []int64{3, 5}}}},
		{"gap from the seed example alone", []domain.Event{event(t, testdataFiles(t, "valid")["seed_example.json"], 1)},
			[]Anomaly{{Type: AnomalyDelegationGap, Missing: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}}}},
		{"retry is not a duplicate charge", []domain.Event{charged, charged, charged}, []Anomaly{}},
		{"duplicate charge", []domain.Event{
			charged,
			cb(2, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": "2.000000", "state": 1}),
			cb(3, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": 0, "state": 1}),
			cb(4, map[string]any{"totalDelegateNums": 1, "hash": "", "orderMoney": 7, "state": 1}),
			cb(5, map[string]any{"totalDelegateNums": 1, "orderMoney": 7, "state": 0})},
			[]Anomaly{{Type: AnomalyDuplicateCharge, Hash: h, EventIDs: sortedIDs(charged,
				cb(2, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": "2.000000", "state": 1}))}}},
		{"same hash, one charged", []domain.Event{charged,
			cb(2, map[string]any{"totalDelegateNums": 1, "hash": h, "orderMoney": 0, "residue": 3})}, []Anomaly{}},
		{"over limit", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 1}),
			cb(2, map[string]any{"totalDelegateNums": 2, "maxDelegateNums": 1})},
			[]Anomaly{{Type: AnomalyOverLimit, TotalDelegateNums: 2, MaxDelegateNums: 1}}},
		{"no limit when max is 0", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 0}),
			cb(2, map[string]any{"totalDelegateNums": 2, "maxDelegateNums": 0})}, []Anomaly{}},
		{"charge on deleted", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 1, "state": 2, "orderMoney": 5}),
			cb(2, map[string]any{"totalDelegateNums": 1, "state": 2, "orderMoney": 0, "residue": 1}),
			cb(3, map[string]any{"totalDelegateNums": 1, "state": 1, "orderMoney": 5, "residue": 2})},
			[]Anomaly{{Type: AnomalyChargeOnDeleted, EventIDs: sortedIDs(
				cb(1, map[string]any{"totalDelegateNums": 1, "state": 2, "orderMoney": 5}))}}},
		{"all four, in their order", []domain.Event{
			cb(1, map[string]any{"totalDelegateNums": 3, "maxDelegateNums": 2, "hash": h, "orderMoney": 1, "state": 2}),
			cb(2, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 2, "hash": h, "orderMoney": 1})},
			[]Anomaly{
				{Type: AnomalyDelegationGap, Missing: []int64{2}},
				{Type: AnomalyDuplicateCharge, Hash: h, EventIDs: sortedIDs(
					cb(1, map[string]any{"totalDelegateNums": 3, "maxDelegateNums": 2, "hash": h, "orderMoney": 1, "state": 2}),
					cb(2, map[string]any{"totalDelegateNums": 1, "maxDelegateNums": 2, "hash": h, "orderMoney": 1}))},
				{Type: AnomalyOverLimit, TotalDelegateNums: 3, MaxDelegateNums: 2},
				{Type: AnomalyChargeOnDeleted, EventIDs: sortedIDs(
					cb(1, map[string]any{"totalDelegateNums": 3, "maxDelegateNums": 2, "hash": h, "orderMoney": 1, "state": 2}))},
			}},
	} {
		for i, order := range deliveries(c.events) {
			s := fold(t, order...)
			got := Anomalies(s)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s (delivery %d): anomalies\n %+v\nwant\n %+v", c.name, i, got, c.want)
			}
			if s.Order.Anomalies != int64(len(got)) {
				t.Errorf("%s (delivery %d): Order.Anomalies = %d, want %d", c.name, i, s.Order.Anomalies, len(got))
			}
		}
	}
}

func sortedIDs(events ...domain.Event) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestDelegationGapIsBounded(t *testing.T) {
	s := fold(t,
		event(t, body(t, map[string]any{"totalDelegateNums": 5000}), 1),
		event(t, body(t, map[string]any{"totalDelegateNums": 2}), 2))
	a := Anomalies(s)
	if len(a) != 1 || len(a[0].Missing) != MaxMissingListed || a[0].MissingCount != 4998 ||
		a[0].Missing[0] != 1 || a[0].Missing[1] != 3 || a[0].Missing[MaxMissingListed-1] != 1001 {
		t.Fatalf("gap = %d listed, count %d, first %v", len(a[0].Missing), a[0].MissingCount, a[0].Missing[:3])
	}
	if s.Order.Anomalies != 1 {
		t.Fatalf("Order.Anomalies = %d", s.Order.Anomalies)
	}
}
