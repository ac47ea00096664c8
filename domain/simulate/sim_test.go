package simulate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

func TestSameSeedSameTraffic(t *testing.T) {
	a := simulate.New(fullConfig(7))
	b := simulate.New(fullConfig(7))
	da, db := a.Generate(2000), b.Generate(2000)
	if !reflect.DeepEqual(da, db) {
		t.Fatal("two simulators with the same config and seed generated different traffic")
	}
	if !reflect.DeepEqual(a.Truth(), b.Truth()) {
		t.Fatal("same seed, different truth")
	}
	dc := simulate.New(fullConfig(8)).Generate(2000)
	same := 0
	for i := range dc {
		if bytes.Equal(da[i].Body, dc[i].Body) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 7 and 8 share %d identical bodies; want none (distinct device and order ids)", same)
	}
}

func TestEveryDeliveryGetsItsExpectedAnswer(t *testing.T) {
	schemes := []struct {
		name   string
		scheme energy.Scheme
		secret string
	}{
		{"md5-kv-sorted", energy.SchemeMD5KVSorted, "s3cret"},
		{"md5-kv-sorted-raw", energy.SchemeMD5KVSortedRaw, "k"},
		{"md5-json", energy.SchemeMD5JSON, "another secret"},
		{"unsigned", "", ""},
	}
	for _, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			cfg := fullConfig(11)
			cfg.EnergyScheme, cfg.EnergySecret = sc.scheme, sc.secret
			sim := simulate.New(cfg)
			ids := map[string]string{} // key → event id
			owner := map[string]string{}
			badKinds := map[string]bool{}
			for _, d := range sim.Generate(4000) {
				got, acc := verdict(t, cfg, d)
				if got != d.Expect {
					t.Fatalf("%s %s (%s): decoders say %d, simulator expects %d\n%s", d.Source, d.Key, d.Kind, got, d.Expect, d.Body)
				}
				if d.Bad {
					if d.Expect == http.StatusOK || d.Dup {
						t.Fatalf("bad delivery %s expects %d, dup=%v", d.Key, d.Expect, d.Dup)
					}
					badKinds[d.Kind] = true
					continue
				}
				if id, ok := ids[d.Key]; ok {
					if id != acc.ID {
						t.Fatalf("retry of %s has event id %s, the original %s\n%s", d.Key, acc.ID, id, d.Body)
					}
					continue
				}
				if d.Dup {
					t.Fatalf("retry %s came before its original", d.Key)
				}
				if k, ok := owner[acc.ID]; ok {
					t.Fatalf("distinct callbacks %s and %s have the same event id", k, d.Key)
				}
				ids[d.Key], owner[acc.ID] = acc.ID, d.Key
			}
			want := []string{simulate.BadTruncated, simulate.BadNotJSON, simulate.BadInvalidUTF8, simulate.BadNotObject,
				simulate.BadWrongKind, simulate.BadMissingRouting, simulate.BadCallTime, simulate.BadAddress,
				simulate.BadHash, simulate.BadEnum, simulate.BadMoney, simulate.BadContentType}
			if sc.secret != "" {
				want = append(want, simulate.BadSignature)
			}
			for _, k := range want {
				if !badKinds["bad:"+k] {
					t.Errorf("no bad input of kind %s in 4000 deliveries", k)
				}
			}
		})
	}
}

// TestTrafficIsRealistic checks the mix: every machine type and callback
// type, both platforms' value quirks, retries both ways.
func TestTrafficIsRealistic(t *testing.T) {
	cfg := fullConfig(3)
	sim := simulate.New(cfg)
	kinds := map[string]int{}
	machineTypes := map[string]bool{}
	var legacyMoney, numericString, triggerFirst, sameBytes, reserialized, pretty, multiStatus int
	bodies := map[string][]byte{}
	for _, d := range sim.Generate(6000) {
		if d.Bad {
			continue
		}
		kinds[d.Kind]++
		if first, ok := bodies[d.Key]; ok {
			if bytes.Equal(first, d.Body) {
				sameBytes++
			} else {
				reserialized++
			}
		} else {
			bodies[d.Key] = d.Body
		}
		if bytes.Contains(d.Body, []byte("\n\t\"")) {
			pretty++
		}
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(d.Body))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		if mt, ok := obj["machineType"].(string); ok {
			machineTypes[mt] = true
		}
		if l, ok := obj["iotIdList"].([]any); ok && len(l) > 1 {
			multiStatus++
		}
		if m, ok := obj["orderMoney"].(string); ok {
			if strings.Contains(m, ".") {
				legacyMoney++
			} else {
				numericString++
			}
		}
		if obj["triggerTransactionId"] == "triggerFirst" {
			triggerFirst++
		}
	}
	for _, mt := range simulate.MachineTypes {
		if !machineTypes[mt] {
			t.Errorf("no device of machine type %s", mt)
		}
	}
	for _, k := range []string{carwash.FinishWash, carwash.MachineUpdateInfo, carwash.MachineUpdateStatus,
		carwash.MachineError, carwash.FACarChange, carwash.RT2CarChange, carwash.ZYParkChange, carwash.TT1CarInto,
		carwash.TT1CarPushOut, carwash.WP1CardConsumeReady, carwash.WP1StartWater, carwash.WP1WaitTimeout,
		carwash.WP1WorkFinish, carwash.WP1UploadTDS, "OrderCallback"} {
		if kinds[k] == 0 {
			t.Errorf("no %s callback in 6000 deliveries", k)
		}
	}
	for name, n := range map[string]int{"legacy TRX orderMoney": legacyMoney, "numeric-string orderMoney": numericString,
		"triggerFirst": triggerFirst, "same-bytes retry": sameBytes, "re-serialised retry": reserialized,
		"pretty-printed body": pretty, "MACHINE_UPDATE_STATUS naming several devices": multiStatus} {
		if n == 0 {
			t.Errorf("no %s", name)
		}
	}
}

func TestCallTimesIncreasePerDevice(t *testing.T) {
	cfg := fullConfig(5)
	cfg.ReorderRate, cfg.DuplicateRate, cfg.BadRate = 0, 0, 0
	cfg.Start = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	cfg.Step = 250 * time.Millisecond
	last := map[string]int64{}
	first := int64(0)
	for _, d := range simulate.New(cfg).Generate(3000) {
		if d.Source != simulate.SourceCarwash {
			continue
		}
		acc, err := carwash.Decode(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 {
			first = acc.CallTime
		}
		if acc.CallTime <= last[acc.Stream] {
			t.Fatalf("%s: callTime %d after %d", acc.Stream, acc.CallTime, last[acc.Stream])
		}
		last[acc.Stream] = acc.CallTime
	}
	if first != cfg.Start.UnixMilli() {
		t.Errorf("first callTime %d, want Start %d", first, cfg.Start.UnixMilli())
	}
}

func TestTronAddressesAreValid(t *testing.T) {
	sim := simulate.New(simulate.Config{Seed: 1, Orders: 50})
	n := 0
	for _, d := range sim.Generate(500) {
		c, err := energy.ParseCallback(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !energy.ValidAddress(c.ReceiveAddress) {
			t.Fatalf("invalid TRON address %q", c.ReceiveAddress)
		}
		if !energy.ValidTxHash(c.Hash) && c.Hash != "" {
			t.Fatalf("invalid hash %q", c.Hash)
		}
		n++
	}
	if n != 500 {
		t.Fatalf("%d energy deliveries, want 500", n)
	}
}

func TestValidate(t *testing.T) {
	good := simulate.Config{Devices: 6}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, c := range map[string]simulate.Config{
		"nothing":        {},
		"too many":       {Devices: simulate.MaxDevices + 1},
		"negative":       {Devices: 1, Orders: -1},
		"rate above 1":   {Devices: 1, BadRate: 1.5},
		"negative rate":  {Devices: 1, DuplicateRate: -0.1},
		"unknown scheme": {Orders: 1, EnergyScheme: "sha1"},
		"negative step":  {Devices: 1, Step: -time.Second},
		"before 1970":    {Devices: 1, Start: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := c.Validate(); !errors.Is(err, simulate.ErrConfig) {
			t.Errorf("%s: Validate() = %v, want ErrConfig", name, err)
		}
	}
	if _, ok := simulate.New(simulate.Config{}).Next(); ok {
		t.Error("a simulator with nothing to simulate returned a delivery")
	}
}

func BenchmarkNext(b *testing.B) {
	sim := simulate.New(fullConfig(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := sim.Next(); !ok {
			b.Fatal(sim.Err())
		}
	}
}
