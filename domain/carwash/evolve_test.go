package carwash_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

func TestAffected(t *testing.T) {
	evs := stored(t,
		body(1, "FINISH_WASH", 7, `"orderId":"A"`),
		`{"callTime":2,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[9,7,9,"8"],"status":1}`,
		body(3, "SOMETHING_NEW", 11, ""),
		`{"callTime":4,"callbackType":"SOMETHING_NEW"}`,
		`{"callTime":5,"callbackType":"SOMETHING_NEW","iotId":"bay"}`,
		`{"callTime":6,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[6000,0,-2,null],"status":0}`,
	)
	// Unknown types apply to no device; unroutable ids are skipped.
	want := [][]int64{{7}, {7, 8, 9}, nil, nil, nil, {6000}}
	for i, e := range evs {
		got, err := carwash.Affected(e)
		if err != nil || !slices.Equal(got, want[i]) {
			t.Errorf("%s: Affected = %v, %v; want %v", e.Data, got, err, want[i])
		}
	}
	energy := domain.Event{Type: "energy.OrderCallback", Data: []byte(`{"orderId":"E1"}`), Position: domain.Position{Seq: 1}}
	if got, err := carwash.Affected(energy); got != nil || err != nil {
		t.Errorf("energy event: %v %v", got, err)
	}
	bad := domain.Event{ID: "x", Type: "carwash.FINISH_WASH", Data: []byte(`{"callTime":1,"callbackType":"FINISH_WASH"}`)}
	if _, err := carwash.Affected(bad); !errors.Is(err, domain.ErrInvalidCallback) {
		t.Errorf("undecodable data: %v", err)
	}
}

func TestEvolveReplaysAndForeignEventsChangeNothing(t *testing.T) {
	evs := stored(t,
		body(10, "FINISH_WASH", 7, `"orderId":"A"`),
		body(20, "MACHINE_TT1_CAR_INTO", 7, `"status":"SUCCESS"`),
		body(30, "FINISH_WASH", 8, `"orderId":"B"`),
	)
	var s carwash.DeviceState
	var err error
	for _, e := range evs[:2] {
		if s, err = carwash.Evolve(s, 7, e); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Clone()
	// A crash replays a batch: earlier positions again.
	for _, e := range evs[:2] {
		if s, err = carwash.Evolve(s, 7, e); err != nil {
			t.Fatal(err)
		}
	}
	// Another device's event, and an event from another source.
	if s, err = carwash.Evolve(s, 7, evs[2]); err != nil {
		t.Fatal(err)
	}
	energy := domain.Event{Type: "energy.OrderCallback", Data: []byte(`{"orderId":"E1"}`), Position: domain.Position{TxID: 999, Seq: 99}}
	if s, err = carwash.Evolve(s, 7, energy); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, before) {
		t.Fatalf("state changed:\n%+v\n%+v", s, before)
	}
	if s.Device.Version != 2 || s.Device.Tunnel.Entries != 1 || s.Device.WashesCompleted != 1 || s.Position != evs[1].Position {
		t.Fatalf("state: %+v", s)
	}
}

func TestEvolveErrors(t *testing.T) {
	e := stored(t, body(10, "FINISH_WASH", 7, `"orderId":"A"`))[0]
	unpositioned := e
	unpositioned.Position = domain.Position{}
	if _, err := carwash.Evolve(carwash.DeviceState{}, 7, unpositioned); !errors.Is(err, domain.ErrInvalidEvent) {
		t.Fatalf("no position: %v", err)
	}
	s, err := carwash.Evolve(carwash.DeviceState{}, 7, e)
	if err != nil {
		t.Fatal(err)
	}
	poison := domain.Event{ID: "p", Type: "carwash.FINISH_WASH", Data: []byte(`{"callTime":11,"callbackType":"FINISH_WASH","iotId":"x"}`),
		Position: domain.Position{TxID: 100, Seq: 5}}
	got, err := carwash.Evolve(s.Clone(), 7, poison)
	if !errors.Is(err, domain.ErrInvalidCallback) {
		t.Fatalf("poison: %v", err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatal("a failed Evolve changed the state")
	}
}

func TestFoldOrdersByPositionAndMergesStreams(t *testing.T) {
	evs := stored(t,
		body(10, "MACHINE_UPDATE_INFO", 7, `"name":"A"`),
		`{"callTime":15,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[7,8],"status":1}`,
		body(20, "MACHINE_UPDATE_INFO", 7, `"name":"B"`),
		`{"callTime":25,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[8],"status":0}`,
		body(30, "MACHINE_UPDATE_INFO", 7, `"name":"C","onlineStatus":"OFFLINE"`),
		body(5, "MACHINE_UPDATE_INFO", 8, `"name":"other"`),
	)
	want := project(t, evs)[7]
	// The device stream then the fleet stream, as an asOf query reads them.
	var device, fleet []domain.Event
	for _, e := range evs {
		if e.Stream == "carwash.fleet" {
			fleet = append(fleet, e)
		} else {
			device = append(device, e)
		}
	}
	got, err := carwash.Fold(7, append(device, fleet...))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Fold:\n%+v\nwant\n%+v", got.Device, want.Device)
	}
	if got.Device.Version != 4 || *got.Device.Name != "C" || *got.Device.Online {
		t.Fatalf("device: %+v", got.Device)
	}
	none, err := carwash.Fold(99, evs)
	if err != nil || none.Device.Version != 0 {
		t.Fatalf("unknown device: %+v %v", none, err)
	}
}

// A projection persists the state as JSON between batches, and the
// per-order memory as entries beside it.
func TestDeviceStateJSONRoundTrip(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		evs := stored(t, genBodies(seed, 120)...)
		whole := project(t, evs)
		half := project(t, evs[:60])
		for id, s := range half {
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var back carwash.DeviceState
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), `"washes"`) || strings.Contains(string(b), `"waterOrders"`) {
				t.Fatalf("device %d: per-order memory in the JSON:\n%s", id, b)
			}
			for entry := range s.Entries {
				back.Remember(entry)
			}
			if !reflect.DeepEqual(back, s) {
				t.Fatalf("device %d does not round-trip:\n%s", id, b)
			}
			half[id] = back
		}
		for _, e := range evs[60:] {
			ids, _ := carwash.Affected(e)
			for _, id := range ids {
				s, err := carwash.Evolve(half[id], id, e)
				if err != nil {
					t.Fatal(err)
				}
				half[id] = s
			}
		}
		if !reflect.DeepEqual(half, whole) {
			t.Fatalf("seed %d: persisted and resumed fold differs", seed)
		}
	}
}

func TestCloneSharesNothingMutable(t *testing.T) {
	evs := stored(t,
		body(10, "FINISH_WASH", 7, `"orderId":"A"`),
		body(11, "MACHINE_TT1_CAR_PUSH_OUT", 7, `"orderIdList":["T1"]`),
		body(12, "WP1_START_WATER", 7, `"orderId":"W1"`),
		body(20, "FINISH_WASH", 7, `"orderId":"B"`),
		body(21, "MACHINE_TT1_CAR_PUSH_OUT", 7, `"orderIdList":["T2"]`),
		body(22, "WP1_WORK_FINISH", 7, `"orderId":"W1"`),
	)
	s, err := carwash.Fold(7, evs[:3])
	if err != nil {
		t.Fatal(err)
	}
	kept := s.Clone()
	snapshot, _ := json.Marshal(kept)
	for _, e := range evs[3:] {
		if s, err = carwash.Evolve(s, 7, e); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := json.Marshal(kept); string(after) != string(snapshot) {
		t.Fatalf("evolving the original changed its clone:\n%s\n%s", snapshot, after)
	}
	if s.Device.WashesCompleted != 2 || kept.Device.WashesCompleted != 1 {
		t.Fatal("counts")
	}
}

// The device JSON has exactly the api.md "Device object" keys, in its order.
func TestDeviceJSONShape(t *testing.T) {
	s := project(t, stored(t,
		body(1, "MACHINE_UPDATE_INFO", 7, `"name":"Bay 3","onlineStatus":"ONLINE"`),
		body(2, "MACHINE_ERROR", 7, `"errorMessage":"[M835]...","createTime":"2024-11-22 08:07:55"`),
		body(3, "MACHINE_FA_CAR_CHANGE", 7, `"status":"ENTER"`),
		body(4, "FINISH_WASH", 7, `"orderId":"ORDER123456"`),
		body(5, "WP1_WORK_FINISH", 7, `"orderId":"W1","volume":3`),
	))[7]
	b, err := json.Marshal(s.Device)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iotId":7,"machineType":null,"name":"Bay 3","country":null,"address":null,"longitude":null,` +
		`"latitude":null,"online":true,"onlineChangedAt":1,"errorStatus":null,` +
		`"lastError":{"message":"[M835]...","createTime":"2024-11-22 08:07:55","at":2},"errorCount":1,` +
		`"parking":{"status":"FORWARD","raw":"ENTER","callbackType":"MACHINE_FA_CAR_CHANGE","at":3},` +
		`"washesCompleted":1,"lastWash":{"orderId":"ORDER123456","at":4},` +
		`"tunnel":{"entries":0,"entryTimeouts":0,"pushedOutOrders":0,"lastEntryAt":null},` +
		`"waterPurifier":{"sourceTds":null,"cleanTds":null,"tdsAt":null,` +
		`"session":{"orderId":"W1","status":"FINISHED","volumeLeftMl":3,"at":5},"dispensesCompleted":1},` +
		`"eventCount":5,"lastEventAt":5,"version":5}`
	if string(b) != want {
		t.Fatalf("device JSON\n got  %s\n want %s", b, want)
	}
}
