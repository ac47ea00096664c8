package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/api"
)

// listPage is the answer of every list endpoint.
type listPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"nextCursor"`
}

func decodePage(t *testing.T, what string, a answer) listPage {
	t.Helper()
	var p listPage
	if a.status != 200 || json.Unmarshal(a.body, &p) != nil {
		t.Fatalf("%s: %d %s", what, a.status, a.body)
	}
	return p
}

// walk follows nextCursor from url (which has a query already) and returns
// every item's key, failing if a page answers other than 200.
func walk(t *testing.T, url, param, token, key string) []string {
	t.Helper()
	var out []string
	next := ""
	for range 100 {
		u := url
		if next != "" {
			u += "&" + param + "=" + next
		}
		p := decodePage(t, u, get(t, u, token))
		for _, it := range p.Items {
			out = append(out, fmt.Sprint(it[key]))
		}
		if p.NextCursor == nil {
			return out
		}
		next = *p.NextCursor
	}
	t.Fatalf("%s: no last page after 100", url)
	return nil
}

// feed posts n car-wash callbacks of device 7 and, for order L1, n energy
// callbacks with a charge each, and waits until the projections have them.
func feed(t *testing.T, h *harness, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		wash := fmt.Appendf(nil, `{"callTime":%d,"callbackType":"FINISH_WASH","iotId":7,"orderId":"W-%d"}`, 1732262400000+i, i)
		if a := post(t, h.url+"/v1/callbacks/carwash", "application/json", wash); a.status != 200 {
			t.Fatalf("car-wash callback %d: %d %s", i, a.status, a.body)
		}
		charge := fmt.Appendf(nil, `{"orderId":"L1","receiveAddress":"","residue":%d,"recharge":0,"state":1,"autoType":0,"payment":0,`+
			`"maxDelegateNums":%d,"totalDelegateNums":%d,"detentionChargeTime":3,"hash":"%064x","energyNums":65000,"orderMoney":%d}`,
			n-i, n, i, i, 1000000*i)
		if a := post(t, h.url+"/v1/callbacks/energy", "application/json", charge); a.status != 200 {
			t.Fatalf("energy callback %d: %d %s", i, a.status, a.body)
		}
	}
	h.waitCaughtUp(t, 2*n)
}

// GET /v1/events?after= takes the cursor of an event; a bare integer (the
// event's `position`) is correct where positions have no transaction id
// (SQLite) and a clear 400 where they have one (PostgreSQL), never the log
// from its start. The last page's nextCursor is null, as on every list.
func TestEventsAfterAndLastPage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{AdminTokens: []string{"adm"}})
		feed(t, h, 3)
		events := waitEvents(t, h.store, 6)

		third := events[2].Position
		want := []string{events[3].ID, events[4].ID, events[5].ID}
		byCursor := decodePage(t, "after a cursor", get(t, h.url+"/v1/events?after="+third.String(), "adm"))
		if got := pageIDs(byCursor); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after=%s: %v, want %v", third, got, want)
		}
		if byCursor.NextCursor != nil {
			t.Errorf("the last page's nextCursor is %q, want null", *byCursor.NextCursor)
		}

		bare := get(t, h.url+fmt.Sprintf("/v1/events?after=%d", third.Seq), "adm")
		if third.TxID == 0 { // SQLite: the bare position is the position
			if got := pageIDs(decodePage(t, "after a bare position", bare)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after=%d: %v, want %v", third.Seq, got, want)
			}
		} else if bare.status != 400 || !strings.Contains(string(bare.body), "after takes an event's cursor") ||
			bare.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("after=%d on a store whose positions carry a transaction id: %d %s, want a 400 naming the cursor",
				third.Seq, bare.status, bare.body)
		}
		if got := pageIDs(decodePage(t, "after=0", get(t, h.url+"/v1/events?after=0", "adm"))); len(got) != 6 {
			t.Errorf("after=0 (the start) gave %d events, want 6", len(got))
		}

		// A page cut exactly at the end of the log is the last one too; a
		// shorter one has a cursor, and the walk sees every event once.
		if p := decodePage(t, "limit=6", get(t, h.url+"/v1/events?limit=6", "adm")); len(p.Items) != 6 || p.NextCursor != nil {
			t.Errorf("limit=6 of 6 events: %d items, nextCursor %v", len(p.Items), p.NextCursor)
		}
		if got := walk(t, h.url+"/v1/events?limit=4", "after", "adm", "eventId"); len(got) != 6 {
			t.Errorf("walking the log by 4 gave %v", got)
		}
		if got := walk(t, h.url+"/v1/events?limit=1&type=carwash.FINISH_WASH", "after", "adm", "eventId"); len(got) != 3 {
			t.Errorf("walking the car-wash events by 1 gave %v", got)
		}
	})
}

func pageIDs(p listPage) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, fmt.Sprint(it["eventId"]))
	}
	return out
}

// A device's events and an order's ledger are lists like the others:
// limit, an opaque cursor (a forged or foreign one is a 400), nextCursor.
func TestDeviceEventsAndLedgerArePaged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{})
		feed(t, h, 5)
		doc := openAPIDoc(t, h.url)
		for _, c := range []struct{ path, docPath, key string }{
			{"/v1/devices/7/events", "/v1/devices/{iotId}/events", "eventId"},
			{"/v1/orders/L1/ledger", "/v1/orders/{orderId}/ledger", "eventId"},
		} {
			all := get(t, h.url+c.path, "")
			checkAgainstDoc(t, doc, "GET", c.docPath, all.body)
			whole := decodePage(t, c.path, all)
			if len(whole.Items) != 5 || whole.NextCursor != nil {
				t.Fatalf("%s: %d items, nextCursor %v, want 5 and null", c.path, len(whole.Items), whole.NextCursor)
			}
			first := get(t, h.url+c.path+"?limit=2", "")
			checkAgainstDoc(t, doc, "GET", c.docPath, first.body)
			if p := decodePage(t, c.path+"?limit=2", first); len(p.Items) != 2 || p.NextCursor == nil {
				t.Fatalf("%s?limit=2: %s", c.path, first.body)
			}
			var want []string
			for _, it := range whole.Items {
				want = append(want, fmt.Sprint(it[c.key]))
			}
			for _, limit := range []int{1, 2, 4, 5} {
				if got := walk(t, fmt.Sprintf("%s%s?limit=%d", h.url, c.path, limit), "cursor", "", c.key); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s by %d: %v, want %v", c.path, limit, got, want)
				}
			}
			for _, bad := range []string{"AAAA", "0.3", "%27%3B--", "ZDox"} { // ZDox: base64url of "d:1", a devices-list cursor
				a := get(t, h.url+c.path+"?cursor="+bad, "")
				if a.status != 400 || a.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s?cursor=%s: %d %s, want a 400 problem", c.path, bad, a.status, a.body)
				}
			}
			if a := get(t, h.url+c.path+"?limit=1001", ""); a.status != 400 {
				t.Errorf("%s?limit=1001: %d", c.path, a.status)
			}
		}
		// Each list's cursor is its own.
		p := decodePage(t, "device events", get(t, h.url+"/v1/devices/7/events?limit=1", ""))
		if a := get(t, h.url+"/v1/orders/L1/ledger?cursor="+*p.NextCursor, ""); a.status != 400 {
			t.Errorf("a device-events cursor on a ledger: %d %s, want 400", a.status, a.body)
		}
	})
}

// Every query and admin endpoint refuses a query parameter it does not
// know (a misspelt asOf must not answer the current state).
func TestUnknownQueryParametersAre400(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{AdminTokens: []string{"adm"}})
	feed(t, h, 1)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/devices/7?asof=2000-01-01T00:00:00Z"},
		{"GET", "/v1/devices?bogus=1"},
		{"GET", "/v1/devices/7/events?bogus=1"},
		{"GET", "/v1/orders?bogus=1"},
		{"GET", "/v1/orders/L1?asof=2000-01-01T00:00:00Z"},
		{"GET", "/v1/orders/L1/ledger?bogus=1"},
		{"GET", "/v1/billing/reconciliation?bogus=1"},
		{"POST", "/v1/billing/statements?bogus=1"},
		{"GET", "/v1/projections?bogus=1"},
		{"POST", "/v1/projections/devices/rebuild?bogus=1"},
		{"GET", "/v1/events?cursor=x"},
		{"GET", "/v1/events/" + waitEvents(t, h.store, 1)[0].ID + "/raw?bogus=1"},
		{"GET", "/v1/quarantine?bogus=1"},
		{"POST", "/v1/quarantine/1/readmit?bogus=1"},
	} {
		a := do(t, c.method, h.url+c.path, "adm")
		if a.status != 400 || !strings.Contains(string(a.body), "unknown query parameter") ||
			a.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want a 400 naming the parameter", c.method, c.path, a.status, a.body)
		}
	}
	// The documented ones still pass, and probes take anything.
	for _, path := range []string{"/v1/devices/7?asOf=2999-01-01T00:00:00Z", "/v1/devices/7/events?limit=1&cursor=",
		"/v1/orders/L1/ledger?limit=5", "/healthz?probe=1"} {
		if a := get(t, h.url+path, ""); a.status != 200 {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}
}

// A request no route matches is answered in the API's shapes, not by
// net/http's text/plain: 404, or 405 with Allow when another method
// serves the path; the callback paths answer the platforms' shape.
func TestUnmatchedRequests(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{})
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
		callback     bool
	}{
		{"GET", "/v1/devices/123456/", 404, "", false},
		{"GET", "/v1/nope", 404, "", false},
		{"GET", "/", 404, "", false},
		{"POST", "/v1/devices", 405, "GET, HEAD", false},
		{"DELETE", "/v1/devices/7", 405, "GET, HEAD", false},
		{"GET", "/v1/projections/devices/rebuild", 405, "POST", false},
		{"GET", "/v1/callbacks/carwash", 405, "POST", true},
		{"DELETE", "/v1/callbacks/energy", 405, "POST", true},
		{"POST", "/v1/callbacks/nope", 404, "", true},
	} {
		a := do(t, c.method, h.url+c.path, "")
		if a.status != c.status || a.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", c.method, c.path, a.status, a.header.Get("Allow"), c.status, c.allow)
			continue
		}
		if c.callback {
			var body struct {
				Code int    `json:"code"`
				Msg  string `json:"msg"`
			}
			if a.header.Get("Content-Type") != "application/json" || json.Unmarshal(a.body, &body) != nil ||
				body.Code != c.status || body.Msg == "" {
				t.Errorf("%s %s: %q %s, want {\"code\":%d,\"msg\":...}", c.method, c.path, a.header.Get("Content-Type"), a.body, c.status)
			}
			continue
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if a.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(a.body, &p) != nil || p.Status != c.status {
			t.Errorf("%s %s: %q %s, want a problem+json", c.method, c.path, a.header.Get("Content-Type"), a.body)
		}
	}
}

// Every 401 carries its challenge, the one for a wrong token too.
func TestEvery401HasWWWAuthenticate(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{ReadTokens: []string{"r1"}, AdminTokens: []string{"a1"}})
	for _, c := range []struct{ path, token, want string }{
		{"/v1/devices", "", `Bearer realm="tidemark"`},
		{"/v1/devices", "wrong", `Bearer realm="tidemark", error="invalid_token"`},
		{"/v1/events", "", `Bearer realm="tidemark"`},
		{"/v1/events", "wrong", `Bearer realm="tidemark", error="invalid_token"`},
	} {
		a := get(t, h.url+c.path, c.token)
		if a.status != 401 || a.header.Get("WWW-Authenticate") != c.want {
			t.Errorf("GET %s with %q: %d WWW-Authenticate %q, want 401 %q", c.path, c.token, a.status, a.header.Get("WWW-Authenticate"), c.want)
		}
	}
}

// Event ids are UUIDs: the raw body is found whatever the id's case.
func TestRawEventIDInEitherCase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{AdminTokens: []string{"adm"}})
		body := []byte(`{"callTime":1732262400000,"callbackType":"FINISH_WASH","iotId":7,"orderId":"W-1"}`)
		if a := post(t, h.url+"/v1/callbacks/carwash", "application/json", body); a.status != 200 {
			t.Fatalf("callback: %d %s", a.status, a.body)
		}
		id := waitEvents(t, h.store, 1)[0].ID
		for _, v := range []string{id, strings.ToUpper(id)} {
			a := get(t, h.url+"/v1/events/"+v+"/raw", "adm")
			if a.status != 200 || string(a.body) != string(body) || a.header.Get("X-Tidemark-Event-Id") != id {
				t.Errorf("raw of %s: %d %s", v, a.status, a.body)
			}
		}
	})
}
