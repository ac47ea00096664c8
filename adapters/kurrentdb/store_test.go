package kurrentdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/kurrentdb"
	"github.com/tidemark/tidemark/adapters/storetest"
	"github.com/tidemark/tidemark/domain"
)

// EnvURL names the KurrentDB server the conformance suite runs against,
// e.g. kurrentdb://localhost:2113?tls=false (see README, "KurrentDB").
const EnvURL = "TIDEMARK_TEST_KURRENTDB_URL"

const skipReason = EnvURL + " is not set: no KurrentDB server can be installed on this machine; see README 'KurrentDB'"

// serverURL is the test server, or skips the test saying why.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skip(skipReason)
	}
	return u
}

// factory gives each test its own "database": a fresh random stream
// prefix, so the test sees only its own streams in $all although every
// test shares the server. Every open is a new Store (its own client and
// connection) on that prefix.
func factory(t testing.TB) func() domain.EventStore {
	u := serverURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tmtest" + hex.EncodeToString(b[:]) + "-"
	return func() domain.EventStore {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := kurrentdb.Open(ctx, u, kurrentdb.Options{StreamPrefix: prefix, PollInterval: 500 * time.Millisecond})
		if err != nil {
			t.Fatalf("open %s: %v", EnvURL, err)
		}
		return s
	}
}

// The conformance suite; skipped as a whole (not passed) without a server.
func TestStore(t *testing.T) {
	serverURL(t)
	storetest.Run(t, factory)
}

func TestStress(t *testing.T) {
	serverURL(t)
	storetest.RunStress(t, factory, 5_000)
}

func BenchmarkStore(b *testing.B) {
	serverURL(b)
	storetest.RunBenchmarks(b, factory)
}

// closedPort is a localhost port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestOpenUnreachable needs no server: Open on a port nothing listens on
// fails fast with domain.ErrUnavailable.
func TestOpenUnreachable(t *testing.T) {
	for _, tls := range []string{"false", "true"} {
		t.Run("tls="+tls, func(t *testing.T) {
			url := fmt.Sprintf("kurrentdb://admin:secret@127.0.0.1:%d?tls=%s", closedPort(t), tls)
			start := time.Now()
			s, err := kurrentdb.Open(context.Background(), url, kurrentdb.Options{ConnectTimeout: 5 * time.Second})
			took := time.Since(start)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded on a closed port")
			}
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("Open: %v, want domain.ErrUnavailable", err)
			}
			if took > 6*time.Second {
				t.Fatalf("Open took %v to fail", took)
			}
			if want := "admin:xxxxx@"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q should name the URL with the password hidden", err)
			}
			t.Logf("failed after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// TestOpenTimesOut: ConnectTimeout bounds Open even when discovery would
// go on for longer (many attempts, long intervals).
func TestOpenTimesOut(t *testing.T) {
	url := fmt.Sprintf("esdb://127.0.0.1:%d?tls=false&maxDiscoverAttempts=1000&discoveryInterval=500", closedPort(t))
	start := time.Now()
	_, err := kurrentdb.Open(context.Background(), url, kurrentdb.Options{ConnectTimeout: 300 * time.Millisecond})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Open: %v, want domain.ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Open took %v with a 300ms ConnectTimeout", took)
	}
}

func TestOpenRefusesBadConfiguration(t *testing.T) {
	cases := map[string]struct {
		url  string
		opts kurrentdb.Options
	}{
		"system prefix":        {"kurrentdb://localhost:2113?tls=false", kurrentdb.Options{StreamPrefix: "$tm-"}},
		"system prefix in URL": {"kurrentdb://localhost:2113?tls=false&streamPrefix=%24tm-", kurrentdb.Options{}},
		"scheme":               {"http://localhost:2113", kurrentdb.Options{}},
		"cert without key":     {"kurrentdb://localhost:2113", kurrentdb.Options{ClientCertFile: "c.pem"}},
		"missing CA file":      {"kurrentdb://localhost:2113", kurrentdb.Options{CAFile: "/nonexistent/ca.pem"}},
		"negative limit":       {"kurrentdb://localhost:2113", kurrentdb.Options{DedupeLimit: -1}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := kurrentdb.Open(context.Background(), c.url, c.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open accepted it")
			}
			if errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("Open: %v; a configuration error, not an outage", err)
			}
		})
	}
}
