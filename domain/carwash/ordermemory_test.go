package carwash_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tidemark/tidemark/domain/carwash"
)

// entryKey names an entry in the test's stand-in for the projection's table.
type entryKey struct {
	iotID         int64
	kind, orderID string
}

// A state that holds only the entries of the orders an event names folds
// that event exactly as the state holding every entry does: the contract
// that lets a projection keep the per-order memory in rows of its own.
// Here each event starts from the state's JSON (which carries no entries)
// plus the entries OrderRefs names, as a projection's batch of one would.
func TestPartialOrderMemoryFoldsAsTheWhole(t *testing.T) {
	for seed := int64(1); seed <= 8; seed++ {
		bodies := genBodies(seed, 400)
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		r.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
		evs := stored(t, bodies...)
		want := project(t, evs)

		saved := map[int64][]byte{} // the state column
		rows := map[entryKey]carwash.OrderEntry{}
		for _, e := range evs {
			c, err := carwash.ParseCallback(e.Data)
			if err != nil {
				t.Fatal(err)
			}
			kind, ids := c.OrderRefs()
			for _, id := range c.Devices() {
				var s carwash.DeviceState
				if b, ok := saved[id]; ok {
					if err := json.Unmarshal(b, &s); err != nil {
						t.Fatal(err)
					}
				}
				for _, o := range ids {
					if entry, ok := rows[entryKey{id, kind, o}]; ok {
						s.Remember(entry)
					}
				}
				if s, err = carwash.Apply(s, id, e.Position, c); err != nil {
					t.Fatal(err)
				}
				for entry := range s.Entries {
					rows[entryKey{id, entry.Kind, entry.OrderID}] = entry
				}
				b, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				saved[id] = b
			}
		}
		got := map[int64]carwash.Device{}
		for id, b := range saved {
			var s carwash.DeviceState
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			got[id] = s.Device
		}
		if !reflect.DeepEqual(got, devicesOf(want)) {
			t.Fatalf("seed %d: folding with partial memory differs\n%s", seed, diff(got, devicesOf(want)))
		}
		// And the rows are the whole fold's entries.
		all := map[entryKey]carwash.OrderEntry{}
		for id, s := range want {
			for entry := range s.Entries {
				all[entryKey{id, entry.Kind, entry.OrderID}] = entry
			}
		}
		if len(all) == 0 || !reflect.DeepEqual(rows, all) {
			t.Fatalf("seed %d: %d stored entries, the whole fold has %d", seed, len(rows), len(all))
		}
	}
}

func TestOrderRefs(t *testing.T) {
	cases := []struct {
		body string
		kind string
		ids  []string
	}{
		{body(1, "FINISH_WASH", 7, `"orderId":"A"`), carwash.MemoryWash, []string{"A"}},
		{body(1, "MACHINE_TT1_CAR_PUSH_OUT", 7, `"orderIdList":["A","","B"]`), carwash.MemoryPushOut, []string{"A", "B"}},
		{body(1, "WP1_START_WATER", 7, `"orderId":"W"`), carwash.MemoryWater, []string{"W"}},
		{body(1, "WP1_WORK_FINISH", 7, `"orderId":"W","volume":3`), carwash.MemoryWater, []string{"W"}},
		{body(1, "WP1_UPLOAD_TDS", 7, `"sourceTds":1,"cleanTds":2`), "", nil},
		{body(1, "MACHINE_ERROR", 7, `"errorMessage":"x"`), "", nil},
	}
	for _, tc := range cases {
		c, err := carwash.ParseCallback([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		kind, ids := c.OrderRefs()
		if kind != tc.kind || !reflect.DeepEqual(ids, tc.ids) {
			t.Errorf("%s: OrderRefs = %q %q, want %q %q", tc.body, kind, ids, tc.kind, tc.ids)
		}
	}
}
