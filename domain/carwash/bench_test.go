package carwash_test

import (
	"testing"

	"github.com/tidemark/tidemark/domain/carwash"
)

// BenchmarkEvolve measures the device fold as a rebuild runs it: Affected
// then Evolve for each device, over a realistic mix of callbacks.
func BenchmarkEvolve(b *testing.B) {
	evs := stored(b, genBodies(1, 10000)...)
	states := map[int64]carwash.DeviceState{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := evs[i%len(evs)]
		if i%len(evs) == 0 {
			clear(states) // a fresh rebuild: positions start again
		}
		ids, err := carwash.Affected(e)
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			s, err := carwash.Evolve(states[id], id, e)
			if err != nil {
				b.Fatal(err)
			}
			states[id] = s
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkParseCallback(b *testing.B) {
	evs := stored(b, genBodies(2, 1000)...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := carwash.ParseCallback(evs[i%len(evs)].Data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecode(b *testing.B) {
	bodies := genBodies(3, 1000)
	raws := make([][]byte, len(bodies))
	for i, s := range bodies {
		raws[i] = []byte(s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := carwash.Decode(raws[i%len(raws)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply is the fold with each event parsed once (ParseCallback,
// Devices, Apply), as a projection can run it.
func BenchmarkApply(b *testing.B) {
	evs := stored(b, genBodies(1, 10000)...)
	states := map[int64]carwash.DeviceState{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := evs[i%len(evs)]
		if i%len(evs) == 0 {
			clear(states)
		}
		c, err := carwash.ParseCallback(e.Data)
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range c.Devices() {
			if states[id], err = carwash.Apply(states[id], id, e.Position, c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
