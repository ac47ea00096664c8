package simulate_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// store plays the service: it decodes every delivery with the real
// decoders, keeps each accepted event once, in delivery order, and
// returns the events by stream.
func store(t *testing.T, cfg simulate.Config, ds []simulate.Delivery) map[string][]domain.Event {
	t.Helper()
	streams := map[string][]domain.Event{}
	seen := map[string]bool{}
	var seq int64
	for _, d := range ds {
		status, acc := verdict(t, cfg, d)
		if status != http.StatusOK || seen[acc.ID] {
			continue
		}
		seen[acc.ID] = true
		seq++
		streams[acc.Stream] = append(streams[acc.Stream], domain.Event{
			ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data,
			Position: domain.Position{Seq: seq}, RecordedAt: time.Unix(seq, 0).UTC(),
		})
	}
	return streams
}

// convert re-reads a read model through JSON into the truth's type.
func convert[T any](t *testing.T, v any) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTruthAgreesWithTheFolds cross-checks two independent models: the
// simulator's own truth and the domain folds over what a store would keep.
func TestTruthAgreesWithTheFolds(t *testing.T) {
	in := func(c simulate.Config, f func(*simulate.Config)) simulate.Config { f(&c); return c }
	cases := map[string]struct {
		cfg simulate.Config
		n   int
	}{
		"everything":       {fullConfig(21), 5000},
		"in order, clean":  {in(fullConfig(22), func(c *simulate.Config) { c.ReorderRate, c.DuplicateRate, c.BadRate = 0, 0, 0 }), 3000},
		"heavy reordering": {in(fullConfig(23), func(c *simulate.Config) { c.ReorderRate, c.ReorderWindow = 1, 200 }), 4000},
		"all anomalies":    {in(fullConfig(24), func(c *simulate.Config) { c.AnomalyRate, c.Orders = 1, 40 }), 3000},
		"short stream":     {fullConfig(25), 137},
		"one device":       {simulate.Config{Seed: 26, Devices: 1, DuplicateRate: 0.5, BadRate: 0.2, ReorderRate: 0.5}, 500},
		"energy only":      {simulate.Config{Seed: 27, Orders: 5, DuplicateRate: 0.5, ReorderRate: 0.5, AnomalyRate: 0.5}, 800},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sim := simulate.New(tc.cfg)
			ds := sim.Generate(tc.n)
			truth := sim.Truth()
			streams := store(t, tc.cfg, ds)

			devices := map[int64]bool{}
			for _, e := range streams[carwash.StreamFleet] {
				c, err := carwash.ParseCallback(e.Data)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range c.IotIDList {
					devices[id] = true
				}
			}
			orders := 0
			for s, evs := range streams {
				if strings.HasPrefix(s, "carwash.device-") {
					c, err := carwash.ParseCallback(evs[0].Data)
					if err != nil {
						t.Fatal(err)
					}
					devices[c.IotID] = true
				}
				if strings.HasPrefix(s, energy.StreamPrefix) {
					orders++
				}
			}
			if len(truth.Devices) != len(devices) || len(truth.Orders) != orders {
				t.Fatalf("truth has %d devices and %d orders; the stored events name %d and %d",
					len(truth.Devices), len(truth.Orders), len(devices), orders)
			}
			for _, want := range truth.Devices {
				evs := append(append([]domain.Event(nil), streams[carwash.DeviceStream(want.IotID)]...), streams[carwash.StreamFleet]...)
				st, err := carwash.Fold(want.IotID, evs)
				if err != nil {
					t.Fatal(err)
				}
				got := convert[simulate.DeviceTruth](t, st.Device)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("device %d:\n fold  %s\n truth %s", want.IotID, jsonOf(t, got), jsonOf(t, want))
				}
			}
			for _, want := range truth.Orders {
				st, err := energy.Fold(streams[energy.StreamOf(want.OrderID)])
				if err != nil {
					t.Fatal(err)
				}
				got := convert[simulate.OrderTruth](t, st.Order)
				for _, a := range energy.Anomalies(st) {
					got.AnomalyTypes = append(got.AnomalyTypes, a.Type)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("order %s:\n fold  %s\n truth %s", want.OrderID, jsonOf(t, got), jsonOf(t, want))
				}
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTruthCountsMatchTheDeliveries(t *testing.T) {
	cfg := fullConfig(31)
	sim := simulate.New(cfg)
	ds := sim.Generate(3000)
	truth := sim.Truth()

	var want simulate.Counts
	bodies := map[string][]byte{}
	var energyEvents, deviceApplications int64
	for _, d := range ds {
		want.Deliveries++
		if d.Source == simulate.SourceCarwash {
			want.Carwash++
		} else {
			want.Energy++
		}
		switch {
		case d.Bad:
			want.Bad++
			continue
		case d.Dup:
			want.Duplicates++
		}
		if first, ok := bodies[d.Key]; ok {
			if !bytes.Equal(first, d.Body) {
				want.Reserialized++
			}
			continue
		}
		bodies[d.Key] = d.Body
		want.Events++
		_, acc := verdict(t, cfg, d)
		if d.Source == simulate.SourceEnergy {
			energyEvents++
			continue
		}
		c, err := carwash.ParseCallback(acc.Data)
		if err != nil {
			t.Fatal(err)
		}
		deviceApplications += int64(len(c.Devices()))
	}
	got := truth.Counts
	got.Reordered = 0 // not visible in the deliveries alone
	if got != want {
		t.Errorf("counts %+v, deliveries say %+v", got, want)
	}
	if truth.Counts.Reserialized == 0 || truth.Counts.Reordered == 0 {
		t.Errorf("no re-serialised or reordered delivery: %+v", truth.Counts)
	}
	var callbacks, eventCounts int64
	for _, o := range truth.Orders {
		callbacks += o.Callbacks
	}
	for _, d := range truth.Devices {
		eventCounts += d.EventCount
	}
	if callbacks != energyEvents {
		t.Errorf("orders' callbacks sum to %d; %d distinct energy callbacks were sent", callbacks, energyEvents)
	}
	if eventCounts != deviceApplications {
		t.Errorf("devices' eventCount sums to %d; sent callbacks name devices %d times", eventCounts, deviceApplications)
	}
}

func TestEveryAnomalyIsPlanted(t *testing.T) {
	cfg := simulate.Config{Seed: 41, Orders: 30, AnomalyRate: 1}
	sim := simulate.New(cfg)
	sim.Generate(2000)
	found := map[string]int{}
	for _, o := range sim.Truth().Orders {
		for _, a := range o.AnomalyTypes {
			found[a]++
		}
	}
	for _, a := range []string{energy.AnomalyDelegationGap, energy.AnomalyDuplicateCharge, energy.AnomalyOverLimit, energy.AnomalyChargeOnDeleted} {
		if found[a] == 0 {
			t.Errorf("no %s among %v", a, found)
		}
	}
	clean := simulate.New(simulate.Config{Seed: 41, Orders: 30})
	clean.Generate(2000)
	for _, o := range clean.Truth().Orders {
		if o.Anomalies != 0 {
			t.Errorf("order %s has anomalies %v with AnomalyRate 0", o.OrderID, o.AnomalyTypes)
		}
	}
}

func TestWriteTruth(t *testing.T) {
	sim := simulate.New(fullConfig(51))
	sim.Generate(300)
	var buf bytes.Buffer
	if err := sim.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	var back simulate.Truth
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sim.Truth()) {
		t.Error("the written truth does not read back equal")
	}
	if len(back.Devices) == 0 || len(back.Orders) == 0 || back.Counts.Deliveries != 300 {
		t.Errorf("truth after 300 deliveries: %d devices, %d orders, counts %+v", len(back.Devices), len(back.Orders), back.Counts)
	}
}
