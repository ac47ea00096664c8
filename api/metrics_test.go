package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/api"
)

// Requests other than callbacks are counted by route pattern and status.
func TestRequestMetrics(t *testing.T) {
	h := newHarness(t, backends()[0], api.Config{})
	for _, g := range []struct {
		path string
		want int
	}{
		{"/v1/devices", http.StatusOK},
		{"/v1/devices", http.StatusOK},
		{"/v1/devices/424242", http.StatusNotFound},
		{"/v1/events", http.StatusForbidden}, // admin endpoints are closed without an admin token
		{"/healthz", http.StatusOK},
	} {
		if a := get(t, h.url+g.path, ""); a.status != g.want {
			t.Fatalf("GET %s: %d, want %d", g.path, a.status, g.want)
		}
	}
	m := get(t, h.url+"/metrics", "")
	for _, line := range []string{
		`tidemark_http_requests_total{code="200",route="GET /v1/devices"} 2`,
		`tidemark_http_requests_total{code="404",route="GET /v1/devices/{iotId}"} 1`,
		`tidemark_http_requests_total{code="403",route="GET /v1/events"} 1`,
		`tidemark_http_requests_total{code="200",route="GET /healthz"} 1`,
	} {
		if !strings.Contains(string(m.body), line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(string(m.body), `route="POST /v1/callbacks/`) {
		t.Error("callbacks are counted twice: they have tidemark_callbacks_total")
	}
}
