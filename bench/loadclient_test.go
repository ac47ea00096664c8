package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The load client reads every framing net/http's server answers with
// (Content-Length, chunked, none for 204, Connection: close), sends the
// body and headers a handler expects, and reuses its connections.
func TestLoadClientAgainstNetHTTP(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, `{"ok":true}`)
		case "/chunked": // flushed before the end: no Content-Length
			_, _ = io.WriteString(w, big[:100])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, big)
		case "/none":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "bye")
		case "/post":
			b, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
				string(b) != `{"n":1}` || r.URL.RawQuery != "a=1" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	c, err := newLoadClient(srv.URL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ctx := context.Background()
	for _, tc := range []struct {
		method, path string
		body         []byte
		want         int
	}{
		{"GET", "/small", nil, 200},
		{"GET", "/chunked", nil, 200},
		{"GET", "/none", nil, 204},
		{"GET", "/missing", nil, 404},
		{"POST", "/post?a=1", []byte(`{"n":1}`), 201},
		{"GET", "/small", nil, 200},
	} {
		if got, err := c.do(ctx, tc.method, tc.path, tc.body); err != nil || got != tc.want {
			t.Errorf("%s %s: %d, %v; want %d", tc.method, tc.path, got, err, tc.want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for requests in turn, want 1 (reused)", n)
	}
	if got, err := c.do(ctx, "GET", "/close", nil); err != nil || got != 202 {
		t.Errorf("GET /close: %d, %v", got, err)
	}
	if got, err := c.do(ctx, "GET", "/small", nil); err != nil || got != 200 {
		t.Errorf("GET after Connection: close: %d, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a new one after the server closed)", n)
	}

	// Many at once: never more connections than allowed.
	before := conns.Load()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 50 {
		wg.Go(func() {
			if got, err := c.do(ctx, "GET", "/chunked", nil); err != nil || got != 200 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of 50 concurrent GETs failed", failed.Load())
	}
	if n := conns.Load() - before; n > 2 {
		t.Errorf("%d new connections for 50 concurrent GETs, want at most 2", n)
	}
}

// A request whose context ends while the server is still answering
// returns at once instead of waiting for the timeout.
func TestLoadClientHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c, err := newLoadClient(srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if status, err := c.do(ctx, "GET", "/slow", nil); err == nil {
		t.Fatalf("status %d without error", status)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s after the context ended", took)
	}
	// The slot of the dropped connection is free again.
	if len(c.slots) != 0 {
		t.Errorf("%d slots held after the failed request", len(c.slots))
	}
}

// Malformed answers are errors, not statuses.
func TestReadAnswerRefusesGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"HTTP/1.1 2\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	} {
		if status, _, err := readAnswer(bufio.NewReader(strings.NewReader(in)), false); err == nil {
			t.Errorf("%q: status %d, no error", in, status)
		}
	}
}
