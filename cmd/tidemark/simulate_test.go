package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// simServer answers callbacks the way the service does, with the real
// decoders, and remembers the distinct events it accepted.
type simServer struct {
	secret, token string
	scheme        energy.Scheme
	fail          bool // answer 503 to everything

	mu      sync.Mutex
	events  map[string]string // event id → stream
	answers int
}

func newSimServer(t *testing.T, s *simServer) *httptest.Server {
	t.Helper()
	s.events = map[string]string{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func (s *simServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.answers++
	s.mu.Unlock()
	if s.fail {
		http.Error(w, `{"code":503,"msg":"unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, `{"code":415}`, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var acc domain.Accepted
	switch r.URL.Path {
	case "/v1/callbacks/carwash":
		if r.URL.Query().Get("token") != s.token {
			http.Error(w, `{"code":401}`, http.StatusUnauthorized)
			return
		}
		acc, err = carwash.Decode(body)
	case "/v1/callbacks/energy":
		acc, _, err = energy.Decoder{Scheme: s.scheme, Secret: s.secret}.Decode(body)
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case errors.Is(err, domain.ErrUnauthorized):
		http.Error(w, `{"code":401}`, http.StatusUnauthorized)
	case errors.Is(err, domain.ErrMalformed):
		http.Error(w, `{"code":400}`, http.StatusBadRequest)
	case err != nil:
		http.Error(w, `{"code":422}`, http.StatusUnprocessableEntity)
	default:
		s.mu.Lock()
		s.events[acc.ID] = acc.Stream
		s.mu.Unlock()
		_, _ = io.WriteString(w, `{"code":0,"msg":"success"}`)
	}
}

func (s *simServer) answered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers
}

func (s *simServer) distinct(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, stream := range s.events {
		if strings.HasPrefix(stream, prefix) {
			n++
		}
	}
	return n
}

func simTestOptions(url string, count int) simOptions {
	return simOptions{
		URL: url, Count: count, Concurrency: 8,
		Sim: simulate.Config{
			Seed: 5, Devices: 18, Orders: 6, EnergySecret: "s3cret", EnergyScheme: energy.SchemeMD5KVSorted,
			DuplicateRate: 0.3, ReserializeRate: 0.5, ReorderRate: 0.3, BadRate: 0.1, AnomalyRate: 0.2,
		},
		CarwashToken: "tok",
	}
}

func TestRunSimulationGetsTheExpectedAnswers(t *testing.T) {
	srv := &simServer{secret: "s3cret", scheme: energy.SchemeMD5KVSorted, token: "tok"}
	ts := newSimServer(t, srv)
	res, err := runSimulation(context.Background(), simTestOptions(ts.URL, 400), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if answered := srv.answered(); res.Sent != 400 || answered != 400 {
		t.Fatalf("sent %d, server answered %d; want 400", res.Sent, answered)
	}
	if res.Unexpected != 0 || res.ValidFailed != 0 {
		t.Fatalf("unexpected %d, valid failed %d: %v", res.Unexpected, res.ValidFailed, res.Samples)
	}
	c := res.Counts
	if c.Deliveries != 400 || c.Bad == 0 || c.Duplicates == 0 {
		t.Fatalf("counts %+v: want 400 deliveries with bad input and retries", c)
	}
	var rejected int64
	for code, n := range res.ByStatus {
		if code >= 400 && code < 500 {
			rejected += int64(n)
		}
	}
	if int64(res.ByStatus[http.StatusOK]) != c.Deliveries-c.Bad || rejected != c.Bad {
		t.Errorf("answers %v; want 200 ×%d and 4xx ×%d", res.ByStatus, c.Deliveries-c.Bad, c.Bad)
	}
	// Each distinct callback stored once, retries included.
	truth := res.Sim.Truth()
	var callbacks int
	for _, o := range truth.Orders {
		callbacks += int(o.Callbacks)
	}
	if got := srv.distinct(""); int64(got) != c.Events {
		t.Errorf("server stored %d distinct events; the simulator sent %d", got, c.Events)
	}
	if got := srv.distinct(energy.StreamPrefix); got != callbacks {
		t.Errorf("server stored %d energy events; the truth's orders have %d callbacks", got, callbacks)
	}
	if res.Latencies.P50 <= 0 || res.Latencies.P50 > res.Latencies.P99 || res.Latencies.P99 > res.Latencies.Max {
		t.Errorf("latencies %+v: want 0 < p50 ≤ p99 ≤ max", res.Latencies)
	}
}

func TestRunSimulationPacesAtRate(t *testing.T) {
	srv := &simServer{secret: "s3cret", scheme: energy.SchemeMD5KVSorted, token: "tok"}
	ts := newSimServer(t, srv)
	o := simTestOptions(ts.URL, 21)
	o.Rate = 100 // the 21st delivery is due 200 ms after the first
	res, err := runSimulation(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 21 || res.Duration < 200*time.Millisecond {
		t.Errorf("sent %d in %s at 100/s; want 21 in at least 200ms", res.Sent, res.Duration)
	}
}

// TestRunSimulationStopsCleanly: stopped by --duration or by cancellation,
// the truth still covers exactly what was sent.
func TestRunSimulationStopsCleanly(t *testing.T) {
	srv := &simServer{secret: "s3cret", scheme: energy.SchemeMD5KVSorted, token: "tok"}
	ts := newSimServer(t, srv)

	o := simTestOptions(ts.URL, 0)
	o.Duration, o.Rate = 150*time.Millisecond, 200
	res, err := runSimulation(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Sent > 31 || res.Counts.Deliveries != res.Sent {
		t.Errorf("duration run: sent %d, generated %d; want 1..31, equal", res.Sent, res.Counts.Deliveries)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	o = simTestOptions(ts.URL, 1_000_000)
	o.Rate = 300
	res, err = runSimulation(ctx, o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Sent >= 1_000_000 || res.Counts.Deliveries != res.Sent || res.Unexpected != 0 {
		t.Errorf("cancelled run: sent %d, generated %d, unexpected %d", res.Sent, res.Counts.Deliveries, res.Unexpected)
	}
}

func TestCmdSimulateWritesTheTruth(t *testing.T) {
	srv := &simServer{secret: "env-secret", scheme: energy.SchemeMD5JSON, token: "tok"}
	ts := newSimServer(t, srv)
	truthPath := filepath.Join(t.TempDir(), "truth.json")
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"TIDEMARK_ENERGY_SECRET": "env-secret", "TIDEMARK_ENERGY_SIGN_SCHEME": "md5-json"}[k]
	}
	err := cmdSimulate(context.Background(), []string{"--url", ts.URL, "--count", "300", "--seed", "9",
		"--devices", "12", "--orders", "4", "--carwash-token", "tok", "--bad-rate", "0.05", "--truth", truthPath},
		env{stdout: &out, stderr: &errOut, getenv: getenv})
	if err != nil {
		t.Fatalf("cmdSimulate: %v\n%s%s", err, out.String(), errOut.String())
	}
	t.Log(out.String())
	for _, want := range []string{"300 deliveries", "unexpected: 0 ", "latency:", "truth:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var truth simulate.Truth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if truth.Seed != 9 || truth.Counts.Deliveries != 300 || len(truth.Devices) == 0 || len(truth.Orders) == 0 {
		t.Fatalf("truth: seed %d, counts %+v, %d devices, %d orders", truth.Seed, truth.Counts, len(truth.Devices), len(truth.Orders))
	}
	var events int64
	for _, o := range truth.Orders {
		events += o.Callbacks
	}
	if got := srv.distinct(energy.StreamPrefix); int64(got) != events {
		t.Errorf("server stored %d energy events, the truth file says %d", got, events)
	}
}

func TestCmdSimulateFailsWhenValidCallbacksAreRefused(t *testing.T) {
	for name, srv := range map[string]*simServer{
		"unavailable":   {fail: true},
		"missing token": {token: "needed"},
	} {
		t.Run(name, func(t *testing.T) {
			ts := newSimServer(t, srv)
			var out bytes.Buffer
			err := cmdSimulate(context.Background(), []string{"--url", ts.URL, "--count", "50", "--orders", "0"},
				env{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }})
			if err == nil || !strings.Contains(err.Error(), "not answered 200") {
				t.Fatalf("err = %v, want valid callbacks not answered 200\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "expected 200, got") {
				t.Errorf("summary shows no sample of the unexpected answers:\n%s", out.String())
			}
		})
	}
}

func TestCmdSimulateRefusesBadFlags(t *testing.T) {
	e := env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{"--url", "localhost:8080"},
		{"--bad-rate", "2"},
		{"--devices", "0", "--orders", "0"},
		{"--energy-sign-scheme", "sha1"},
		{"--start", "yesterday"},
		{"--count", "-1"},
		{"extra"},
	} {
		if err := cmdSimulate(context.Background(), args, e); err == nil {
			t.Errorf("cmdSimulate %v: no error", args)
		}
	}
}
