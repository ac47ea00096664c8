package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// /readyz is open to anyone: it says why it is not ready in a word, and
// the cause (hosts, SQL) goes to the log only.
func TestReadyzShowsTheReasonNotTheCause(t *testing.T) {
	cause := errors.New("dial tcp 10.9.8.7:5432: connect: connection refused")
	for _, c := range []struct {
		err    error
		reason string
	}{
		{&NotReady{Reason: "store unreachable", Err: cause}, "store unreachable"},
		{fmt.Errorf("wrapped: %w", &NotReady{Reason: "migrations pending: 2"}), "migrations pending: 2"},
		{cause, "not ready"},
	} {
		s, logs := newTestServer(t, Config{}, Deps{Ready: func(context.Context) error { return c.err }})
		rec := serve(s, "GET", "/readyz", "", nil)
		var body statusAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 503 {
			t.Fatalf("%v: %d %s", c.err, rec.Code, rec.Body)
		}
		if body.Status != "unavailable" || body.Reason != c.reason || strings.Contains(rec.Body.String(), "10.9.8.7") {
			t.Errorf("%v: answered %s, want reason %q and no cause", c.err, rec.Body, c.reason)
		}
		if errors.Is(c.err, cause) && !strings.Contains(logs.String(), "10.9.8.7") {
			t.Errorf("%v: the cause is not logged: %s", c.err, logs)
		}
	}
	s, _ := newTestServer(t, Config{}, Deps{Ready: func(context.Context) error { return nil }})
	if rec := serve(s, "GET", "/readyz", "", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ready"`) {
		t.Errorf("ready: %d %s", rec.Code, rec.Body)
	}
}
