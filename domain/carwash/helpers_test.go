package carwash_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

// body builds a callback body: callTime, type, iotId, then extra members.
func body(callTime int64, typ string, iotID int64, extra string) string {
	s := fmt.Sprintf(`{"callTime":%d,"callbackType":%q,"iotId":%d`, callTime, typ, iotID)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// stored decodes bodies and gives them log positions in the order given:
// the order the platform delivered them in.
func stored(t testing.TB, bodies ...string) []domain.Event {
	t.Helper()
	evs := make([]domain.Event, len(bodies))
	for i, b := range bodies {
		acc, err := carwash.Decode([]byte(b))
		if err != nil {
			t.Fatalf("Decode %s: %v", b, err)
		}
		evs[i] = domain.Event{ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data, Raw: []byte(b),
			Position: domain.Position{TxID: 100, Seq: int64(i + 1)}}
	}
	return evs
}

// project folds events the way the projection does: in log order, each to
// the devices Affected names.
func project(t testing.TB, evs []domain.Event) map[int64]carwash.DeviceState {
	t.Helper()
	states := map[int64]carwash.DeviceState{}
	for _, e := range evs {
		ids, err := carwash.Affected(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			s, err := carwash.Evolve(states[id], id, e)
			if err != nil {
				t.Fatal(err)
			}
			states[id] = s
		}
	}
	return states
}

// attrs renders the listed attributes of d as compact JSON.
func attrs(t testing.TB, d carwash.Device, keys ...string) map[string]string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		v, ok := all[k]
		if !ok {
			t.Fatalf("device JSON has no %q: %s", k, b)
		}
		out[k] = string(v)
	}
	return out
}

// ruleCase is one row of a read-model rule table: bodies in delivery
// order, and the expected JSON of some attributes of device iot.
type ruleCase struct {
	name   string
	iot    int64
	bodies []string
	want   map[string]string
	// orderFree: every delivery order of the bodies gives want (callTimes
	// distinct where the rule depends on them).
	orderFree bool
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys := make([]string, 0, len(tc.want))
			for k := range tc.want {
				keys = append(keys, k)
			}
			evs := stored(t, tc.bodies...)
			got := project(t, evs)[tc.iot].Device
			if g := attrs(t, got, keys...); !reflect.DeepEqual(g, tc.want) {
				t.Fatalf("got  %v\nwant %v", g, tc.want)
			}
			// Every event applied twice (a replay at the same position) changes nothing.
			twice := make([]domain.Event, 0, 2*len(evs))
			for _, e := range evs {
				twice = append(twice, e, e)
			}
			if d := project(t, twice)[tc.iot].Device; !reflect.DeepEqual(d, got) {
				t.Fatalf("replayed events changed the device:\n%+v\n%+v", d, got)
			}
			if !tc.orderFree {
				return
			}
			permute(len(tc.bodies), func(p []int) {
				bodies := make([]string, len(p))
				for i, j := range p {
					bodies[i] = tc.bodies[j]
				}
				d := project(t, stored(t, bodies...))[tc.iot].Device
				if !reflect.DeepEqual(d, got) {
					t.Fatalf("delivery order %v gives another device:\n%v\nwant %v", p,
						attrs(t, d, keys...), tc.want)
				}
			})
		})
	}
}

// permute calls fn with every permutation of 0..n-1 (Heap's algorithm).
func permute(n int, fn func([]int)) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var gen func(k int)
	gen = func(k int) {
		if k <= 1 {
			fn(p)
			return
		}
		for i := 0; i < k; i++ {
			gen(k - 1)
			if k%2 == 0 {
				p[i], p[k-1] = p[k-1], p[i]
			} else {
				p[0], p[k-1] = p[k-1], p[0]
			}
		}
	}
	gen(n)
}

func q(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
