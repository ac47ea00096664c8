package api_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/tidemark/tidemark/api"
)

// do sends a request with an optional bearer token.
func do(t *testing.T, method, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// The raw bytes of an event and the readmission of a quarantined callback
// are admin-only: no token 401, a read token 403, an unknown one 401, the
// admin token served; with no tokens configured they answer 403 to anyone.
func TestAdminOnlyRawAndReadmit(t *testing.T) {
	b := backends()[0]
	h := newHarness(t, b, api.Config{ReadTokens: []string{"r1"}, AdminTokens: []string{"a1"}, CarwashToken: "cw"})
	stored, err := os.ReadFile("testdata/callbacks/carwash/finish_wash.json")
	if err != nil {
		t.Fatal(err)
	}
	if a := post(t, h.url+"/v1/callbacks/carwash?token=cw", "application/json", stored); a.status != 200 {
		t.Fatalf("callback: %d %s", a.status, a.body)
	}
	rejected, err := os.ReadFile("testdata/callbacks/carwash/machine_error.json")
	if err != nil {
		t.Fatal(err)
	}
	if a := post(t, h.url+"/v1/callbacks/carwash?token=wrong", "application/json", rejected); a.status != 401 {
		t.Fatalf("callback with a wrong token: %d %s", a.status, a.body)
	}
	entries, err := h.quarantine.List(context.Background(), 0, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("quarantine: %v %v", entries, err)
	}
	raw := "/v1/events/" + waitEvents(t, h.store, 1)[0].ID + "/raw"
	readmit := "/v1/quarantine/" + strconv.FormatInt(entries[0].ID, 10) + "/readmit"

	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", raw, "", 401}, {"GET", raw, "r1", 403}, {"GET", raw, "nope", 401}, {"GET", raw, "a1", 200},
		{"POST", readmit, "", 401}, {"POST", readmit, "r1", 403}, {"POST", readmit, "nope", 401}, {"POST", readmit, "a1", 200},
	} {
		a := do(t, c.method, h.url+c.path, c.token)
		if a.status != c.status {
			t.Errorf("%s %s with %q: %d %s, want %d", c.method, c.path, c.token, a.status, a.body, c.status)
			continue
		}
		if c.status != 200 && a.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s with %q: Content-Type %q", c.method, c.path, c.token, a.header.Get("Content-Type"))
		}
		if c.status == 200 && c.path == raw && string(a.body) != string(stored) {
			t.Errorf("raw bytes %q, want %q", a.body, stored)
		}
	}
	if n := len(waitEvents(t, h.store, 2)); n != 2 {
		t.Errorf("%d events after the readmission, want 2", n)
	}

	open := newHarness(t, b, api.Config{})
	for _, c := range []struct{ method, path, token string }{
		{"GET", raw, ""}, {"GET", raw, "a1"}, {"POST", readmit, ""}, {"POST", readmit, "a1"},
	} {
		if a := do(t, c.method, open.url+c.path, c.token); a.status != 403 {
			t.Errorf("no tokens configured: %s %s with %q: %d %s, want 403", c.method, c.path, c.token, a.status, a.body)
		}
	}
}
