package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tidemark/tidemark/api"
	"github.com/tidemark/tidemark/projections"
)

// A rebuild while one of the same projection is under way is a 409; an
// unknown projection a 404; another projection's rebuild starts (202).
func TestRebuildConflict(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{AdminTokens: []string{"a1"}})
		postTestdata(t, h)

		// A rebuild of devices that stays under way until released.
		release := make(chan struct{})
		err := h.runner.StartRebuild(projections.RebuildOptions{Projections: []string{"devices"},
			Progress: func(projections.Progress) { <-release }})
		if err != nil {
			t.Fatal(err)
		}
		a := do(t, "POST", h.url+"/v1/projections/devices/rebuild", "a1")
		var p struct{ Status int }
		if err := json.Unmarshal(a.body, &p); err != nil || a.status != 409 || p.Status != 409 ||
			a.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("rebuild during a rebuild: %d %s, want a 409 problem", a.status, a.body)
		}
		if a := do(t, "POST", h.url+"/v1/projections/nope/rebuild", "a1"); a.status != 404 {
			t.Errorf("rebuild of an unknown projection: %d %s", a.status, a.body)
		}
		close(release)

		if a := do(t, "POST", h.url+"/v1/projections/orders/rebuild", "a1"); a.status != 202 {
			t.Errorf("rebuild of orders: %d %s", a.status, a.body)
		}
		waitRebuilds(t, h.runner)
	})
}

// waitRebuilds waits until no rebuild runs, so that none outlives the test's store.
func waitRebuilds(t *testing.T, r *projections.Runner) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		running := false
		for _, st := range r.Status() {
			running = running || st.Rebuild != nil
		}
		if !running {
			return
		}
	}
	t.Fatalf("rebuilds still running: %+v", r.Status())
}
