package energy

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// randomLog stores random callbacks for a few orders, as the ingest path would.
func randomLog(t testing.TB, r *rand.Rand, n int) []domain.Event {
	hashes := []string{"", "", hashOf("h1"), hashOf("h2"), hashOf("h3"), hashOf("h4")}
	money := []any{0, 0, 2000000, "1.96", "0.000001", 44000000, ""}
	var log []domain.Event
	for i := range n {
		f := map[string]any{
			"orderId":           []string{"E1", "E2", "E3"}[r.IntN(3)],
			"totalDelegateNums": r.IntN(9),
			"maxDelegateNums":   []int{0, 6, 10}[r.IntN(3)],
			"residue":           r.IntN(10),
			"state":             []int{1, 1, 1, 0, 2}[r.IntN(5)],
			"hash":              hashes[r.IntN(len(hashes))],
			"energyNums":        []any{0, 65000, "32000"}[r.IntN(3)],
			"orderMoney":        money[r.IntN(len(money))],
			"outTradeNo":        []string{"A", "B", "C"}[r.IntN(3)],
		}
		// Callbacks that omit snapshot fields: each keeps the value of the
		// greatest callback that sent it, in any delivery order.
		for _, k := range []string{"state", "residue", "maxDelegateNums", "outTradeNo"} {
			if r.IntN(4) == 0 {
				delete(f, k)
			}
		}
		e := event(t, body(t, f), int64(i+1))
		if r.IntN(3) == 0 { // a platform retry received later; stored once (same id)
			e.Metadata.ReceivedAt = e.Metadata.ReceivedAt.Add(time.Duration(r.IntN(100)) * time.Second)
		}
		log = append(log, e)
	}
	// The store keeps an id once: drop later copies of an identical body.
	seen := map[string]bool{}
	var stored []domain.Event
	for _, e := range log {
		if !seen[e.ID] {
			seen[e.ID] = true
			stored = append(stored, e)
		}
	}
	return stored
}

func byOrder(events []domain.Event) map[string][]domain.Event {
	out := map[string][]domain.Event{}
	for _, e := range events {
		out[e.Stream] = append(out[e.Stream], e)
	}
	return out
}

// In-order, shuffled and duplicated delivery give the same read model.
func TestDeliveryOrderDoesNotMatter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		log := randomLog(t, r, 1+r.IntN(40))
		for stream, inOrder := range byOrder(log) {
			want := fold(t, inOrder...)
			wantAnomalies := Anomalies(want)
			if want.Order.Anomalies != int64(len(wantAnomalies)) {
				t.Fatalf("round %d %s: Order.Anomalies %d, Anomalies %d", round, stream, want.Order.Anomalies, len(wantAnomalies))
			}
			checkAggregates(t, inOrder, want)

			shuffled := append([]domain.Event(nil), inOrder...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			var duplicated []domain.Event
			for _, e := range inOrder {
				for range 1 + r.IntN(3) {
					duplicated = append(duplicated, e)
				}
			}
			r.Shuffle(len(duplicated), func(i, j int) { duplicated[i], duplicated[j] = duplicated[j], duplicated[i] })

			for name, delivery := range map[string][]domain.Event{"shuffled": shuffled, "duplicated": duplicated} {
				got := fold(t, delivery...)
				if got.Order != want.Order {
					t.Fatalf("round %d %s %s:\n %+v\nin order:\n %+v", round, stream, name, got.Order, want.Order)
				}
				if a := Anomalies(got); !reflect.DeepEqual(a, wantAnomalies) {
					t.Fatalf("round %d %s %s anomalies:\n %+v\nin order:\n %+v", round, stream, name, a, wantAnomalies)
				}
			}
		}
	}
}

// checkAggregates recomputes the aggregates the slow way, from the ledger.
func checkAggregates(t *testing.T, events []domain.Event, s OrderState) {
	t.Helper()
	var sum, energy int64
	hashes := map[string]bool{}
	for _, e := range events {
		c, err := ParseCallback(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		energy += c.EnergyNums
		if c.Hash != "" {
			hashes[c.Hash] = true
		}
		if le, ok, _ := LedgerEntryOf(e); ok {
			sum += le.OrderMoneySun
		}
	}
	o := s.Order
	if o.ChargedSun != sum || o.ChargedTrx != FormatTrx(sum) || o.EnergyTotal != energy ||
		o.Delegations != int64(len(hashes)) || o.Callbacks != int64(len(events)) {
		t.Fatalf("aggregates %+v; want chargedSun %d energy %d delegations %d callbacks %d",
			o, sum, energy, len(hashes), len(events))
	}
}
