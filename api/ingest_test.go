package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// Every payload in testdata/callbacks is accepted, stored once with its raw
// body byte-exact, on its documented stream and type.
func TestCallbacksFromTestdataAreStored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{})
		for _, source := range []string{"carwash", "energy"} {
			files, _ := filepath.Glob(filepath.Join("testdata", "callbacks", source, "*.json"))
			if len(files) < 3 {
				t.Fatalf("too few %s payloads: %v", source, files)
			}
			for _, f := range files {
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				a := post(t, h.url+"/v1/callbacks/"+source, "application/json", body)
				if a.status != http.StatusOK || string(a.body) != `{"code":0,"msg":"success"}` {
					t.Fatalf("%s: %d %s", f, a.status, a.body)
				}
			}
		}
		files, _ := filepath.Glob(filepath.Join("testdata", "callbacks", "*", "*.json"))
		events := waitEvents(t, h.store, len(files))
		byRaw := map[string]domain.Event{}
		for _, e := range events {
			byRaw[string(e.Raw)] = e
		}
		seed, _ := os.ReadFile("testdata/callbacks/carwash/seed_finish_wash.json")
		e, ok := byRaw[string(seed)]
		if !ok {
			t.Fatal("the car-wash seed's raw body is not stored byte-exact")
		}
		if e.Stream != "carwash.device-123456" || e.Type != "carwash.FINISH_WASH" || e.Metadata.Source != "carwash" {
			t.Fatalf("seed event: stream %q type %q source %q", e.Stream, e.Type, e.Metadata.Source)
		}
		seed, _ = os.ReadFile("testdata/callbacks/energy/seed_order_callback.json")
		e, ok = byRaw[string(seed)]
		if !ok {
			t.Fatal("the energy seed's raw body is not stored byte-exact")
		}
		if e.Stream != "energy.order-201411301111" || e.Type != "energy.OrderCallback" || e.Metadata.Signature != domain.SignatureUnverified {
			t.Fatalf("energy seed event: stream %q type %q signature %q", e.Stream, e.Type, e.Metadata.Signature)
		}
		types := map[string]bool{}
		for _, e := range events {
			types[e.Type] = true
		}
		for _, want := range []string{"carwash.MACHINE_UPDATE_STATUS", "carwash.MACHINE_FOAM_LOW", "carwash.WP1_UPLOAD_TDS", "carwash.ZY_RT_PARK_CHANGE"} {
			if !types[want] {
				t.Errorf("no %s event stored", want)
			}
		}
	})
}

// Each rejection path answers its status with a message naming the field,
// stores nothing, and quarantines what api.md says is quarantined.
func TestCallbackRejections(t *testing.T) {
	const secret = "s3cret"
	signed := func(body string) []byte {
		sig, err := energy.Sign(energy.SchemeMD5KVSorted, []byte(body), secret)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		json.Unmarshal([]byte(body), &obj)
		obj["sign"] = sig
		out, _ := json.Marshal(obj)
		return out
	}
	cases := []struct {
		name, source, contentType, query string
		body                             []byte
		status                           int
		msgHas                           string
		quarantined                      bool
	}{
		{"malformed", "carwash", "application/json", "", []byte(`{"callTime":`), 400, "malformed", true},
		{"not an object", "carwash", "", "", []byte(`[1,2]`), 422, "object", true},
		{"missing callTime", "carwash", "", "", []byte(`{"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`), 422, "callTime", true},
		{"callTime not positive", "carwash", "", "", []byte(`{"callTime":0,"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`), 422, "callTime", true},
		{"missing callbackType", "carwash", "", "", []byte(`{"callTime":1,"iotId":1}`), 422, "callbackType", true},
		{"iotId wrong kind", "carwash", "", "", []byte(`{"callTime":1,"callbackType":"MACHINE_ERROR","iotId":"abc"}`), 422, "iotId", true},
		{"missing orderId", "carwash", "", "", []byte(`{"callTime":1,"callbackType":"FINISH_WASH","iotId":1}`), 422, "orderId", true},
		{"empty iotIdList", "carwash", "", "", []byte(`{"callTime":1,"callbackType":"MACHINE_UPDATE_STATUS","iotIdList":[],"status":1}`), 422, "iotIdList", true},
		{"wrong token", "carwash", "", "?token=nope", []byte(`{"callTime":1,"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`), 401, "token", true},
		{"wrong content type", "carwash", "text/plain", "", []byte(`{"callTime":1}`), 415, "Content-Type", false},
		{"too large", "energy", "application/json", "", append([]byte(`{"orderId":"`), bytes.Repeat([]byte("x"), 70<<10)...), 413, "limit", false},
		{"energy missing orderId", "energy", "", "", signed(`{"residue":1}`), 422, "orderId", true},
		{"energy bad address", "energy", "", "", signed(`{"orderId":"E1","receiveAddress":"TL1ugLRQRA7Q2WUX9HeUo4FgqJEbUNMkA8"}`), 422, "receiveAddress", true},
		{"energy bad hash", "energy", "", "", signed(`{"orderId":"E1","hash":"xyz"}`), 422, "hash", true},
		{"energy bad signature", "energy", "", "", []byte(`{"orderId":"E1","sign":"00000000000000000000000000000000"}`), 401, "sign", true},
		{"energy missing signature", "energy", "", "", []byte(`{"orderId":"E1"}`), 401, "sign", true},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{CarwashToken: "tok", EnergySecret: secret})
		wantQuarantined := 0
		for _, c := range cases {
			query := c.query
			if c.source == "carwash" && query == "" {
				query = "?token=tok"
			}
			a := post(t, h.url+"/v1/callbacks/"+c.source+query, c.contentType, c.body)
			if a.status != c.status {
				t.Errorf("%s: status %d, want %d (%s)", c.name, a.status, c.status, a.body)
				continue
			}
			var ans struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			if err := json.Unmarshal(a.body, &ans); err != nil || ans.Code == 0 || !strings.Contains(ans.Msg, c.msgHas) {
				t.Errorf("%s: answer %s, want a non-zero code and a message naming %q", c.name, a.body, c.msgHas)
			}
			if c.quarantined {
				wantQuarantined++
			}
		}
		if n := len(allEvents(t, h.store)); n != 0 {
			t.Fatalf("%d events stored from rejected callbacks", n)
		}
		entries, err := h.quarantine.List(context.Background(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != wantQuarantined {
			t.Fatalf("quarantine has %d entries, want %d", len(entries), wantQuarantined)
		}
		// The right token and a good signature get through.
		ok := post(t, h.url+"/v1/callbacks/carwash?token=tok", "", []byte(`{"callTime":1,"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`))
		if ok.status != 200 {
			t.Fatalf("with the token: %d %s", ok.status, ok.body)
		}
		ok = post(t, h.url+"/v1/callbacks/energy", "application/json; charset=utf-8", signed(`{"orderId":"E1","residue":3}`))
		if ok.status != 200 {
			t.Fatalf("signed energy callback: %d %s", ok.status, ok.body)
		}
		events := waitEvents(t, h.store, 2)
		if len(events) != 2 || events[1].Metadata.Signature != domain.SignatureValid {
			t.Fatalf("events after the valid ones: %d, signature %q", len(events), events[len(events)-1].Metadata.Signature)
		}
	})
}

// A closed store answers 503 with Retry-After: never a 200 for something not stored.
func TestCallbackStoreUnavailable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{})
		h.store.Close()
		a := post(t, h.url+"/v1/callbacks/carwash", "", []byte(`{"callTime":1,"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`))
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Fatalf("closed store: %d Retry-After=%q %s", a.status, a.header.Get("Retry-After"), a.body)
		}
	})
}

// Over the configured rate a callback gets 429 with Retry-After and is not stored.
func TestCallbackRateLimit(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{RateLimit: 0.001, RateBurst: 2})
	body := func(i int) []byte {
		return []byte(`{"callTime":` + strconv.Itoa(1000+i) + `,"callbackType":"FINISH_WASH","iotId":1,"orderId":"o"}`)
	}
	for i := 0; i < 2; i++ {
		if a := post(t, h.url+"/v1/callbacks/carwash", "", body(i)); a.status != 200 {
			t.Fatalf("within the burst: %d", a.status)
		}
	}
	a := post(t, h.url+"/v1/callbacks/carwash", "", body(3))
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("over the rate: %d Retry-After=%q", a.status, a.header.Get("Retry-After"))
	}
	if n := len(waitEvents(t, h.store, 2)); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}
