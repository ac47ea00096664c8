package carwash_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

var propDevices = []int64{101, 102, 103}

// genBodies makes n random callbacks for a few devices, every kind of
// known type plus unknown types and unknown values, with distinct callTimes
// (a callTime tie is broken by storage order, by rule, so ties would make
// delivery order matter), in callTime order.
func genBodies(seed int64, n int) []string {
	r := rand.New(rand.NewPCG(uint64(seed), 0x7dead))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	order := func(prefix string) string { return fmt.Sprintf("%q", fmt.Sprintf("%s%d", prefix, r.IntN(6))) }
	out := make([]string, 0, n)
	for i := range n {
		at := int64(1732262400000 + i*1000 + r.IntN(900))
		id := propDevices[r.IntN(len(propDevices))]
		var extra, typ string
		switch k := r.IntN(16); k {
		case 0:
			typ, extra = "FINISH_WASH", `"orderId":`+order("O")
		case 1:
			typ, extra = "MACHINE_UPDATE_INFO", fmt.Sprintf(`"name":"n%d","country":%s,"longitude":%d.5,"errorStatus":%s,"onlineStatus":%s,"machineType":%s`,
				r.IntN(9), pick(`"TH"`, `"VN"`, `null`), r.IntN(90), pick(`"OK"`, `"ERROR"`, `"WEIRD"`), pick(`"ONLINE"`, `"OFFLINE"`, `"ASLEEP"`), pick(`"NTUNNEL_1"`, `"WATER_PURIFIER"`))
		case 2:
			ids := fmt.Sprint(propDevices[r.IntN(3)], ",", propDevices[r.IntN(3)], ",", 999)
			out = append(out, fmt.Sprintf(`{"callTime":%d,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[%s],"status":%s}`, at, ids, pick("0", "1", `"1"`, "3")))
			continue
		case 3:
			typ, extra = "MACHINE_ERROR", fmt.Sprintf(`"errorMessage":"[M%d]fault","createTime":"2024-11-22 08:%02d:00"`, r.IntN(999), r.IntN(60))
		case 4:
			typ, extra = "MACHINE_FA_CAR_CHANGE", `"status":`+pick(`"SUCCESS"`, `"FAIL"`, `"BACK"`, `"ENTER"`, `"WAIT"`, `"SPIN"`)
		case 5:
			typ, extra = "MACHINE_RT2_CAR_CHANGE", `"status":`+pick(`"SUCCESS"`, `"BACK"`, `"FORWARD"`, `"WAIT"`)
		case 6:
			typ, extra = "ZY_RT_PARK_CHANGE", `"status":`+pick(`0`, `16`, `"17"`, `99`)
		case 7:
			typ, extra = "MACHINE_TT1_CAR_INTO", `"status":`+pick(`"SUCCESS"`, `"INTO_TIME_OUT"`, `"OTHER"`)
		case 8:
			typ, extra = "MACHINE_TT1_CAR_PUSH_OUT", `"orderIdList":[`+order("T")+`,`+order("T")+`]`
		case 9:
			typ, extra = "WP1_CARD_CONSUME_READY", `"orderId":`+order("W")
		case 10:
			typ, extra = "WP1_START_WATER", `"orderId":`+order("W")
		case 11:
			typ, extra = "WP1_WAIT_TIMEOUT", `"orderId":`+order("W")
		case 12:
			typ, extra = "WP1_WORK_FINISH", fmt.Sprintf(`"orderId":%s,"volume":%d`, order("W"), r.IntN(500))
		case 13:
			typ, extra = "WP1_UPLOAD_TDS", fmt.Sprintf(`"sourceTds":%d,"cleanTds":%d`, r.IntN(300), r.IntN(30))
		case 14:
			typ, extra = "MACHINE_FUTURE_THING", `"x":1`
		default:
			out = append(out, fmt.Sprintf(`{"callTime":%d,"callbackType":"MERCHANT_NOTICE"}`, at))
			continue
		}
		out = append(out, body(at, typ, id, extra))
	}
	return out
}

func devicesOf(states map[int64]carwash.DeviceState) map[int64]carwash.Device {
	out := make(map[int64]carwash.Device, len(states))
	for id, s := range states {
		out[id] = s.Device
	}
	return out
}

// Delivery order, replays and duplicates never change the read model.
func TestPropertyDeliveryOrderAndDuplicatesDoNotMatter(t *testing.T) {
	for seed := int64(1); seed <= 8; seed++ {
		bodies := genBodies(seed, 300)
		inOrder := project(t, stored(t, bodies...))
		want := devicesOf(inOrder)
		if len(want) != len(propDevices)+1 { // and 999, named only in status lists
			t.Fatalf("seed %d: %d devices", seed, len(want))
		}
		r := rand.New(rand.NewPCG(uint64(seed), 42))
		for round := range 4 {
			// The platform delivers in another order: positions follow delivery.
			shuffled := append([]string(nil), bodies...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			evs := stored(t, shuffled...)
			if got := devicesOf(project(t, evs)); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d round %d: shuffled delivery differs\n%s", seed, round, diff(got, want))
			}
			// The projection sees events again (crash replays): random
			// earlier events re-applied at their own positions.
			replayed := make([]domain.Event, 0, 2*len(evs))
			for i, e := range evs {
				replayed = append(replayed, e)
				if r.IntN(3) == 0 {
					replayed = append(replayed, evs[r.IntN(i+1)])
				}
			}
			if got := devicesOf(project(t, replayed)); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d round %d: replays change the model\n%s", seed, round, diff(got, want))
			}
			// Fold takes a device's events in any order and folds them in log order.
			mixed := append([]domain.Event(nil), evs...)
			r.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
			for _, id := range propDevices {
				s, err := carwash.Fold(id, append(mixed, mixed[:50]...))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(s.Device, want[id]) {
					t.Fatalf("seed %d: Fold of device %d differs", seed, id)
				}
			}
		}
		// Platform retries, re-serialised: the same event ids, stored once.
		ids := map[string]bool{}
		for _, e := range stored(t, bodies...) {
			ids[e.ID] = true
		}
		if len(ids) != len(bodies) {
			t.Fatalf("seed %d: generated bodies are not distinct events", seed)
		}
	}
}

func diff(got, want map[int64]carwash.Device) string {
	out := ""
	for id := range want {
		g, _ := json.Marshal(got[id])
		w, _ := json.Marshal(want[id])
		if string(g) != string(w) {
			out += fmt.Sprintf("device %d\n got  %s\n want %s\n", id, g, w)
		}
	}
	return out
}
