package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/groupcommit"
	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

func signWith(t *testing.T, body, secret string) []byte {
	t.Helper()
	sig, err := energy.Sign(energy.SchemeMD5KVSorted, []byte(body), secret)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(body[:len(body)-1] + `,"sign":"` + sig + `"}`)
}

func postAdmin(t *testing.T, url, token string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b [4096]byte
	n, _ := resp.Body.Read(b[:])
	return answer{status: resp.StatusCode, header: resp.Header, body: b[:n]}
}

// A callback rejected for a wrong secret is kept, listed, and stored once
// re-admitted after the secret is fixed; one still invalid stays out.
func TestQuarantineListAndReadmit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{EnergySecret: "old", AdminTokens: []string{"adm"}})
		signed := signWith(t, `{"orderId":"Q1","residue":2,"totalDelegateNums":1,"orderMoney":5}`, "new")
		if a := post(t, h.url+"/v1/callbacks/energy", "", signed); a.status != 401 {
			t.Fatalf("wrong secret: %d %s", a.status, a.body)
		}
		if a := post(t, h.url+"/v1/callbacks/carwash", "", []byte(`{"callTime":1,"callbackType":"FINISH_WASH","iotId":1}`)); a.status != 422 {
			t.Fatalf("missing orderId: %d", a.status)
		}
		a := get(t, h.url+"/v1/quarantine", "adm")
		var list struct {
			Items []struct {
				ID     int64  `json:"id"`
				Source string `json:"source"`
				Status int    `json:"status"`
				Field  string `json:"field"`
				Body   string `json:"body"`
			} `json:"items"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil || len(list.Items) != 2 {
			t.Fatalf("quarantine list: %d %s", a.status, a.body)
		}
		invalid, badSig := list.Items[0], list.Items[1] // newest first
		if badSig.Status != 401 || badSig.Field != "sign" || badSig.Body != string(signed) || invalid.Field != "orderId" {
			t.Fatalf("entries: %+v", list.Items)
		}

		// The old secret still rules: re-admitting fails, nothing stored.
		// 422, not 401: the admin is authenticated, the entry is what fails;
		// it stays in quarantine as it was.
		a = postAdmin(t, fmt.Sprintf("%s/v1/quarantine/%d/readmit", h.url, badSig.ID), "adm")
		if a.status != 422 || a.header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(string(a.body), "sign does not match") || a.header.Get("WWW-Authenticate") != "" {
			t.Fatalf("readmit with the old secret: %d %s, want a 422 with the reason", a.status, a.body)
		}
		if e, err := h.quarantine.Get(context.Background(), badSig.ID); err != nil || e.ReadmittedAt != nil {
			t.Fatalf("the entry after a failed readmission: %+v %v", e, err)
		}
		// A server with the fixed secret over the same database re-admits it.
		app := groupcommit.New(h.store, groupcommit.Options{})
		defer app.Close()
		fixed, err := api.New(api.Config{EnergySecret: "new", AdminTokens: []string{"adm"}},
			api.Deps{Appender: app, Store: h.store, Quarantine: quarantine.New(h.db, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(fixed)
		defer ts.Close()
		a = postAdmin(t, fmt.Sprintf("%s/v1/quarantine/%d/readmit", ts.URL, badSig.ID), "adm")
		if a.status != 200 {
			t.Fatalf("readmit: %d %s", a.status, a.body)
		}
		events := waitEvents(t, h.store, 1)
		if len(events) != 1 || string(events[0].Raw) != string(signed) || events[0].Metadata.Readmitted != badSig.ID ||
			events[0].Metadata.Signature != domain.SignatureValid {
			t.Fatalf("re-admitted event: %+v", events)
		}
		e, err := h.quarantine.Get(context.Background(), badSig.ID)
		if err != nil || e.ReadmittedAt == nil || e.EventID != events[0].ID {
			t.Fatalf("entry not marked: %+v %v", e, err)
		}
		// Re-admitting twice stores nothing new; an invalid entry stays out.
		postAdmin(t, fmt.Sprintf("%s/v1/quarantine/%d/readmit", ts.URL, badSig.ID), "adm")
		if a := postAdmin(t, fmt.Sprintf("%s/v1/quarantine/%d/readmit", ts.URL, invalid.ID), "adm"); a.status != 422 {
			t.Fatalf("readmit of an invalid entry: %d %s", a.status, a.body)
		}
		if a := postAdmin(t, ts.URL+"/v1/quarantine/99999/readmit", "adm"); a.status != 404 {
			t.Fatalf("readmit of a missing entry: %d", a.status)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(allEvents(t, h.store)); n != 1 {
			t.Fatalf("%d events after re-admitting twice and an invalid one", n)
		}
	})
}

// The quarantine keeps at most its bound: the oldest entries go first.
func TestQuarantineIsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		_, db := b.open(t)
		q := quarantine.New(db, 3)
		ctx := context.Background()
		for i := 1; i <= 5; i++ {
			if err := q.Add(ctx, &quarantine.Entry{Source: "carwash", ReceivedAt: time.Now(), Status: 422,
				Reason: fmt.Sprint("bad ", i), Raw: []byte(fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := q.List(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 || string(entries[0].Raw) != "5" || string(entries[2].Raw) != "3" {
			t.Fatalf("kept %d entries: %+v", len(entries), entries)
		}
	})
}
