package energy

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkEvolve folds a log of many orders the way a rebuild does: one
// state per order, events in commit order.
func BenchmarkEvolve(b *testing.B) {
	log := randomLog(b, rand.New(rand.NewPCG(3, 4)), 5000)
	b.ReportAllocs()
	b.ResetTimer()
	applied := 0
	for b.Loop() {
		states := map[string]OrderState{}
		for _, e := range log {
			s, err := Evolve(states[e.Stream], e)
			if err != nil {
				b.Fatal(err)
			}
			states[e.Stream] = s
		}
		applied += len(log)
	}
	b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkParseCallback(b *testing.B) {
	data := testdataFiles(b, "valid")["full_delegation.json"]
	acc, _, err := Decoder{}.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCallback(acc.Data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	raw := testdataFiles(b, "valid")["signed_kv_sorted.json"]
	d := Decoder{Secret: testSecret}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
