package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/api"
)

// postTestdata posts every payload of testdata/callbacks through the real endpoints.
func postTestdata(t *testing.T, h *harness) {
	t.Helper()
	n := 0
	for _, source := range []string{"carwash", "energy"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "callbacks", source, "*.json"))
		n += len(files)
		for _, f := range files {
			body, _ := os.ReadFile(f)
			if a := post(t, h.url+"/v1/callbacks/"+source, "application/json", body); a.status != 200 {
				t.Fatalf("%s: %d %s", f, a.status, a.body)
			}
		}
	}
	h.waitCaughtUp(t, n)
}

func decodeJSON(t *testing.T, a answer) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("not a JSON object (%d): %s", a.status, a.body)
	}
	return v
}

// fieldsEqual compares the named fields of a JSON object with expected values
// (numbers as float64, as encoding/json decodes them).
func fieldsEqual(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: field %q missing", what, k)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s.%s = %#v, want %#v", what, k, g, w)
		}
	}
}

func ids(t *testing.T, a answer, key string) []string {
	t.Helper()
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(a.body, &p); err != nil || a.status != 200 {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	var out []string
	for _, it := range p.Items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

// End to end: callbacks through the real endpoints, projections, then every
// query endpoint checked field by field against api.md and the OpenAPI document.
func TestEndToEndQueries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{AdminTokens: []string{"adm"}})
		doc := openAPIDoc(t, h.url)
		postTestdata(t, h)

		a := get(t, h.url+"/v1/devices/123456", "")
		if a.status != 200 {
			t.Fatalf("device: %d %s", a.status, a.body)
		}
		checkAgainstDoc(t, doc, "GET", "/v1/devices/{iotId}", a.body)
		d := decodeJSON(t, a)
		fieldsEqual(t, "device 123456", d, map[string]any{
			"iotId": 123456.0, "machineType": "NFULL_AUTO_1", "name": "Bay 3", "country": "TH",
			"address": "88 Sukhumvit Rd, Bangkok", "longitude": 100.5, "latitude": 13.7, "online": true,
			"onlineChangedAt": 1732262401000.0, "errorStatus": "OK", "errorCount": 1.0, "washesCompleted": 2.0,
			"lastError": map[string]any{"message": "[M835]Abnormal photoelectric signal of the left rear wheel (X035)",
				"createTime": "2024-11-22 08:07:55", "at": 1732262402000.0},
			"parking":  map[string]any{"status": "FORWARD", "raw": "ENTER", "callbackType": "MACHINE_FA_CAR_CHANGE", "at": 1732262403000.0},
			"lastWash": map[string]any{"orderId": "ORDER123457", "at": 1732262413000.0},
			// The unknown MACHINE_FOAM_LOW (callTime …414000) is stored but skipped.
			"eventCount": 6.0, "lastEventAt": 1732262413000.0, "version": 6.0, "waterPurifier": nil,
		})

		wp := decodeJSON(t, get(t, h.url+"/v1/devices/556677", ""))
		purifier, _ := wp["waterPurifier"].(map[string]any)
		fieldsEqual(t, "water purifier", purifier, map[string]any{"sourceTds": 215.0, "cleanTds": 12.0, "tdsAt": 1732262412000.0,
			"dispensesCompleted": 1.0,
			"session":            map[string]any{"orderId": "WP-9001", "status": "FINISHED", "volumeLeftMl": 120.0, "at": 1732262411000.0}})

		tun := decodeJSON(t, get(t, h.url+"/v1/devices/223344", ""))
		fieldsEqual(t, "tunnel", tun, map[string]any{"tunnel": map[string]any{"entries": 1.0, "entryTimeouts": 0.0,
			"pushedOutOrders": 2.0, "lastEntryAt": 1732262406000.0}})

		zy := decodeJSON(t, get(t, h.url+"/v1/devices/123460", ""))
		if p, _ := zy["parking"].(map[string]any); p["status"] != "FORWARD" || p["callbackType"] != "ZY_RT_PARK_CHANGE" {
			t.Errorf("ZY parking: %v", zy["parking"])
		}
		odd := decodeJSON(t, get(t, h.url+"/v1/devices/123461", ""))
		fieldsEqual(t, "unknown enums kept", odd, map[string]any{"machineType": "NTUNNEL_9", "errorStatus": "MAYBE", "online": nil})
		listed := decodeJSON(t, get(t, h.url+"/v1/devices/123458", ""))
		fieldsEqual(t, "device named by a numeric string in iotIdList", listed, map[string]any{"online": true, "version": 1.0})

		// Lists and filters.
		a = get(t, h.url+"/v1/devices?limit=1000", "")
		checkAgainstDoc(t, doc, "GET", "/v1/devices", a.body)
		if got := ids(t, a, "iotId"); len(got) != 8 {
			t.Errorf("devices: %v, want 8", got)
		}
		for q, want := range map[string][]string{
			"machineType=NFULL_AUTO_1": {"123456"},
			"errorStatus=OK":           {"123456"},
			"online=true":              {"123456", "123457", "123458"},
			"parking=FORWARD":          {"123456", "123459", "123460"},
			"machineType=NOPE":         nil,
		} {
			if got := ids(t, get(t, h.url+"/v1/devices?"+q, ""), "iotId"); !reflect.DeepEqual(got, want) {
				t.Errorf("devices?%s = %v, want %v", q, got, want)
			}
		}
		// Cursor pagination walks every device once.
		var walked []string
		next := ""
		for i := 0; i < 20; i++ {
			url := h.url + "/v1/devices?limit=3"
			if next != "" {
				url += "&cursor=" + next
			}
			a := get(t, url, "")
			walked = append(walked, ids(t, a, "iotId")...)
			var p struct {
				NextCursor *string `json:"nextCursor"`
			}
			json.Unmarshal(a.body, &p)
			if p.NextCursor == nil {
				break
			}
			next = *p.NextCursor
		}
		if len(walked) != 8 {
			t.Errorf("paging walked %v", walked)
		}

		// asOf: before the error and the parking change, the device had neither.
		a = get(t, h.url+"/v1/devices/123456?asOf=2000-01-01T00:00:00Z", "")
		if a.status != 404 {
			t.Errorf("asOf before any event: %d", a.status)
		}
		// A device only an unknown callback type named is stored, not projected.
		for _, u := range []string{"/v1/devices/777001", "/v1/devices/777001?asOf=2999-01-01T00:00:00Z"} {
			if a := get(t, h.url+u, ""); a.status != 404 {
				t.Errorf("%s: %d %s, want 404", u, a.status, a.body)
			}
		}
		if a := get(t, h.url+"/v1/devices/777001/events", ""); a.status != 200 || !strings.Contains(string(a.body), "machine new thing") {
			t.Errorf("the unknown callback is not among the device's events: %d %s", a.status, a.body)
		}
		a = get(t, h.url+"/v1/devices/123456?asOf=2999-01-01T00:00:00Z", "")
		checkAgainstDoc(t, doc, "GET", "/v1/devices/{iotId}", a.body)
		fieldsEqual(t, "device asOf the future", decodeJSON(t, a), map[string]any{"version": 6.0, "washesCompleted": 2.0, "online": true})

		a = get(t, h.url+"/v1/devices/123456/events", "")
		checkAgainstDoc(t, doc, "GET", "/v1/devices/{iotId}/events", a.body)
		var evs struct {
			Items []struct {
				Position int64  `json:"position"`
				Type     string `json:"type"`
				CallTime int64  `json:"callTime"`
			} `json:"items"`
		}
		json.Unmarshal(a.body, &evs)
		if len(evs.Items) != 7 {
			t.Fatalf("device events: %s", a.body)
		}
		for i := 1; i < len(evs.Items); i++ {
			if evs.Items[i].Position <= evs.Items[i-1].Position {
				t.Errorf("device events not oldest first: %+v", evs.Items)
			}
		}

		// Orders.
		a = get(t, h.url+"/v1/orders/E00000001", "")
		checkAgainstDoc(t, doc, "GET", "/v1/orders/{orderId}", a.body)
		fieldsEqual(t, "order E00000001", decodeJSON(t, a), map[string]any{
			"orderId": "E00000001", "outTradeNo": "A-1", "receiveAddress": "TL1ugLRQRA7Q2WUX9HeUo4FgqJEbUNMkA7",
			"state": "delegating", "stateCode": 1.0, "maxDelegateNums": 10.0, "totalDelegateNums": 2.0, "residue": 8.0,
			"callbacks": 2.0, "delegations": 2.0, "energyTotal": 65000.0, "chargedSun": 3960000.0, "chargedTrx": "3.960000",
			"anomalies": 0.0,
		})
		fieldsEqual(t, "deleted order", decodeJSON(t, get(t, h.url+"/v1/orders/E00000002", "")),
			map[string]any{"state": "deleted", "stateCode": 2.0})
		fieldsEqual(t, "seed order", decodeJSON(t, get(t, h.url+"/v1/orders/201411301111", "")),
			map[string]any{"chargedSun": 44000000.0, "chargedTrx": "44.000000", "energyTotal": 65000.0, "totalDelegateNums": 10.0})
		a = get(t, h.url+"/v1/orders?state=deleted", "")
		checkAgainstDoc(t, doc, "GET", "/v1/orders", a.body)
		if got := ids(t, a, "orderId"); !reflect.DeepEqual(got, []string{"E00000002"}) {
			t.Errorf("orders?state=deleted = %v", got)
		}
		if got := ids(t, get(t, h.url+"/v1/orders?receiveAddress=TL1ugLRQRA7Q2WUX9HeUo4FgqJEbUNMkA7", ""), "orderId"); !reflect.DeepEqual(got, []string{"E00000001"}) {
			t.Errorf("orders?receiveAddress = %v", got)
		}
		a = get(t, h.url+"/v1/orders/E00000001/ledger", "")
		checkAgainstDoc(t, doc, "GET", "/v1/orders/{orderId}/ledger", a.body)
		var ledger struct {
			Items []map[string]any `json:"items"`
		}
		json.Unmarshal(a.body, &ledger)
		if len(ledger.Items) != 2 || ledger.Items[0]["orderMoneySun"] != 2000000.0 || ledger.Items[1]["orderMoneySun"] != 1960000.0 {
			t.Errorf("ledger: %s", a.body)
		}
		a = get(t, h.url+"/v1/orders/E00000001?asOf=2999-01-01T00:00:00Z", "")
		fieldsEqual(t, "order asOf", decodeJSON(t, a), map[string]any{"chargedSun": 3960000.0, "callbacks": 2.0})

		// The log and raw bodies (admin).
		a = get(t, h.url+"/v1/events?limit=5", "adm")
		checkAgainstDoc(t, doc, "GET", "/v1/events", a.body)
		var log struct {
			Items []struct {
				EventID string `json:"eventId"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		json.Unmarshal(a.body, &log)
		if len(log.Items) != 5 || log.NextCursor == "" {
			t.Fatalf("events page: %s", a.body)
		}
		a = get(t, h.url+"/v1/events?limit=1000&after="+log.NextCursor, "adm")
		var rest struct {
			Items []json.RawMessage `json:"items"`
		}
		json.Unmarshal(a.body, &rest)
		if total := len(log.Items) + len(rest.Items); total != len(waitEvents(t, h.store, 1)) {
			t.Errorf("events pages hold %d events, the log %d", total, len(waitEvents(t, h.store, 1)))
		}
		seed, _ := os.ReadFile("testdata/callbacks/carwash/seed_finish_wash.json")
		found := false
		for _, e := range waitEvents(t, h.store, 1) {
			if strings.Contains(string(e.Raw), "12345667890") {
				raw := get(t, h.url+"/v1/events/"+e.ID+"/raw", "adm")
				found = raw.status == 200 && string(raw.body) == string(seed)
			}
		}
		if !found {
			t.Error("GET /v1/events/{id}/raw did not give the seed's bytes back")
		}

		a = get(t, h.url+"/v1/projections", "")
		checkAgainstDoc(t, doc, "GET", "/v1/projections", a.body)
		if !strings.Contains(string(a.body), `"status":"live"`) {
			t.Errorf("projections: %s", a.body)
		}
		// Positions are numbered as in the event lists: caught up, position is
		// the last event's, and the cursor resumes /v1/events after it.
		var ps struct {
			Items []struct {
				Position, HeadPosition, LagEvents int64
				Cursor                            string
			}
		}
		if err := json.Unmarshal(a.body, &ps); err != nil || len(ps.Items) != 3 {
			t.Fatalf("projections: %s %v", a.body, err)
		}
		var lastLogged struct {
			Items []struct{ Position int64 }
		}
		_ = json.Unmarshal(get(t, h.url+"/v1/events?limit=1000", "adm").body, &lastLogged)
		for _, p := range ps.Items {
			n := len(lastLogged.Items)
			if n == 0 || p.Position != lastLogged.Items[n-1].Position || p.HeadPosition != p.Position || p.LagEvents != 0 {
				t.Errorf("projection positions %+v, want the last event's position %+v", p, lastLogged.Items[n-1:])
			}
			if after := get(t, h.url+"/v1/events?after="+p.Cursor, "adm"); after.status != 200 || strings.Contains(string(after.body), `"position"`) {
				t.Errorf("/v1/events after the projection's cursor: %d %s", after.status, after.body)
			}
		}

		// Error paths.
		for _, c := range []struct {
			path, token string
			status      int
		}{
			{"/v1/devices/999", "", 404},
			{"/v1/devices/abc", "", 400},
			{"/v1/devices/123456?asOf=yesterday", "", 400},
			{"/v1/devices?online=maybe", "", 400},
			{"/v1/devices?limit=0", "", 400},
			{"/v1/devices?limit=1001", "", 400},
			{"/v1/devices?cursor=AAAA", "", 400},
			{"/v1/devices?colour=red", "", 400},
			{"/v1/orders/NOPE", "", 404},
			{"/v1/orders?state=sleeping", "", 400},
			{"/v1/orders/NOPE/ledger", "", 404},
			{"/v1/events", "", 401},
			{"/v1/events", "wrong", 401},
			{"/v1/events?after=x.y", "adm", 400},
			{"/v1/events/nope/raw", "adm", 404},
		} {
			a := get(t, h.url+c.path, c.token)
			if a.status != c.status {
				t.Errorf("GET %s: %d, want %d (%s)", c.path, a.status, c.status, a.body)
				continue
			}
			if a.status >= 400 && a.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET %s: Content-Type %q, want application/problem+json", c.path, a.header.Get("Content-Type"))
			}
		}
	})
}

// Auth: read tokens guard the read endpoints; admin endpoints are 403
// without admin tokens configured, and for a read token.
func TestAuth(t *testing.T) {
	b := backends()[0]
	open := newHarness(t, b, api.Config{})
	if a := get(t, open.url+"/v1/devices", ""); a.status != 200 {
		t.Errorf("no tokens configured: read endpoint %d", a.status)
	}
	if a := get(t, open.url+"/v1/events", "anything"); a.status != 403 {
		t.Errorf("no admin tokens configured: admin endpoint %d, want 403", a.status)
	}
	h := newHarness(t, b, api.Config{ReadTokens: []string{"r1", "r2"}, AdminTokens: []string{"a1"}})
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/v1/devices", "", 401}, {"/v1/devices", "nope", 401}, {"/v1/devices", "r2", 200}, {"/v1/devices", "a1", 200},
		{"/v1/quarantine", "r1", 403}, {"/v1/quarantine", "a1", 200}, {"/v1/quarantine", "", 401},
		{"/healthz", "", 200}, {"/openapi.json", "", 200},
	} {
		if a := get(t, h.url+c.path, c.token); a.status != c.status {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.token, a.status, c.status)
		}
	}
	req, _ := http.NewRequest("POST", h.url+"/v1/projections/devices/rebuild", nil)
	req.Header.Set("Authorization", "Bearer r1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("rebuild with a read token: %d", resp.StatusCode)
	}
}
