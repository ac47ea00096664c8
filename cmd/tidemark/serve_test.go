package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/testdb"
)

// serveInProcess runs cmdServe with the given TIDEMARK_* settings until the
// test ends and returns its base URL once /readyz answers 200.
func serveInProcess(t *testing.T, settings map[string]string) string {
	t.Helper()
	addr := freeAddr(t)
	settings["TIDEMARK_ADDR"] = addr
	settings["TIDEMARK_LOG_LEVEL"] = "error"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, nil, env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
			getenv: func(k string) string { return settings[k] }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + addr
	if !waitFor(20*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		default:
			t.Fatal("serve not ready within 20s")
		}
	}
	return base
}

// deviceCount GETs /v1/devices and returns how many devices it lists.
func deviceCount(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/devices: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// devicesApplied reports whether the devices projection (status from the
// runner, whatever database queries go to) has applied an event.
func devicesApplied(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/v1/projections")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var page struct {
		Items []struct {
			Name     string `json:"name"`
			Position int64  `json:"position"`
		} `json:"items"`
	}
	if json.NewDecoder(resp.Body).Decode(&page) != nil {
		return false
	}
	for _, p := range page.Items {
		if p.Name == "devices" {
			return p.Position > 0
		}
	}
	return false
}

// TIDEMARK_READ_DATABASE_URL sends the queries to that database (a
// replica): here a second, empty database, so what the primary holds does
// not show through it.
func TestServeReadDatabase(t *testing.T) {
	primary, replica := testdb.PostgresURL(t), testdb.PostgresURL(t)
	st, err := postgres.Open(context.Background(), replica, postgres.Options{}) // the replica's schema
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	body, err := os.ReadFile(filepath.Join("..", "..", "api", "testdata", "callbacks", "carwash", "update_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, readURL string
		want          int
	}{
		{"primary", "", 1},
		{"replica", replica, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := serveInProcess(t, map[string]string{"TIDEMARK_DATABASE_URL": primary, "TIDEMARK_READ_DATABASE_URL": tc.readURL})
			resp, err := http.Post(base+"/v1/callbacks/carwash", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("callback: %d", resp.StatusCode)
			}
			if !waitFor(20*time.Second, func() bool { return devicesApplied(t, base) }) {
				t.Fatal("the devices projection did not apply the callback")
			}
			if got := deviceCount(t, base); got != tc.want {
				t.Errorf("devices listed: %d, want %d", got, tc.want)
			}
		})
	}
}
