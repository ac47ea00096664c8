package api_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/api"
)

// badInput is the corpus of quality.md: each entry must get its 4xx.
func badInput() []struct {
	name, method, path, contentType string
	body                            []byte
	status                          int
} {
	deep := strings.Repeat("[", 30000) + strings.Repeat("]", 30000) // past encoding/json's depth limit, under 64 KiB
	return []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
	}{
		{"malformed", "POST", "/v1/callbacks/carwash", "application/json", []byte(`{"callTime":1,,}`), 400},
		{"truncated", "POST", "/v1/callbacks/energy", "application/json", []byte(`{"orderId":"E1","resid`), 400},
		{"empty body", "POST", "/v1/callbacks/carwash", "application/json", nil, 400},
		{"wrong kinds", "POST", "/v1/callbacks/carwash", "", []byte(`{"callTime":"soon","callbackType":7,"iotId":[1]}`), 422},
		{"wrong kinds energy", "POST", "/v1/callbacks/energy", "", []byte(`{"orderId":"E1","residue":{"x":1},"state":"two"}`), 422},
		{"huge number", "POST", "/v1/callbacks/carwash", "", []byte(`{"callTime":1e400,"callbackType":"FINISH_WASH","iotId":99999999999999999999999999,"orderId":"o"}`), 422},
		{"huge money", "POST", "/v1/callbacks/energy", "", []byte(`{"orderId":"E1","orderMoney":922337203685477580799}`), 422},
		{"deep nesting", "POST", "/v1/callbacks/carwash", "", []byte(deep), 400},
		{"10 MB body", "POST", "/v1/callbacks/energy", "application/json", bytes.Repeat([]byte(" "), 10<<20), 413},
		{"invalid UTF-8", "POST", "/v1/callbacks/carwash", "", []byte("{\"callTime\":1,\"callbackType\":\"FINISH_WASH\",\"iotId\":1,\"orderId\":\"\xff\xfe\"}"), 400},
		{"NUL bytes", "POST", "/v1/callbacks/carwash", "", []byte("{\"callTime\":1,\x00\"callbackType\":\"X\"}"), 400},
		{"wrong content type", "POST", "/v1/callbacks/energy", "application/x-www-form-urlencoded", []byte(`orderId=E1`), 415},
		{"SQL in fields", "POST", "/v1/callbacks/carwash", "", []byte(`{"callTime":1,"callbackType":"MACHINE_ERROR","iotId":"1; DROP TABLE events;--"}`), 422},
		{"SQL in query", "GET", "/v1/devices?machineType=x'%20OR%201=1;--", "", nil, 200},
		{"huge limit", "GET", "/v1/devices?limit=100000000000", "", nil, 400},
		{"SQL in path", "GET", "/v1/devices/1%20OR%201=1", "", nil, 400},
		{"bad cursor", "GET", "/v1/devices?cursor=%27%3B--", "", nil, 400},
		{"unknown path", "GET", "/v1/nothing-here", "", nil, 404},
		{"unknown method", "DELETE", "/v1/callbacks/carwash", "", nil, 405},
	}
}

// The bad-input corpus, sent while valid traffic flows: every bad request
// gets its 4xx, the server stays up, every valid callback is stored and no
// bad one is.
func TestBadInputWhileValidTrafficFlows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		h := newHarness(t, b, api.Config{})
		const valid = 300
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < valid; i++ {
				body := fmt.Appendf(nil, `{"callTime":%d,"callbackType":"FINISH_WASH","iotId":7,"orderId":"V-%d"}`, 1732262400000+i, i)
				if a := post(t, h.url+"/v1/callbacks/carwash", "application/json", body); a.status != 200 {
					t.Errorf("valid callback %d: %d %s", i, a.status, a.body)
				}
			}
		}()
		for round := 0; round < 3; round++ {
			for _, c := range badInput() {
				req, _ := http.NewRequest(c.method, h.url+c.path, bytes.NewReader(c.body))
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s: %v (server down?)", c.name, err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
				}
			}
		}
		wg.Wait()
		events := waitEvents(t, h.store, valid)
		if len(events) != valid {
			t.Fatalf("%d events stored, want exactly the %d valid callbacks", len(events), valid)
		}
		for _, e := range events {
			if !strings.Contains(string(e.Raw), `"V-`) {
				t.Fatalf("a bad input was stored: %q", e.Raw)
			}
		}
		if a := get(t, h.url+"/healthz", ""); a.status != 200 {
			t.Fatalf("server unhealthy after the corpus: %d", a.status)
		}
	})
}

// A client that sends its headers too slowly (slowloris) is cut off by
// the ReadHeaderTimeout of api.NewHTTPServer, which serve uses.
func TestSlowHeadersAreCutOff(t *testing.T) {
	srv := api.NewHTTPServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 10*time.Second {
		t.Fatalf("ReadHeaderTimeout = %v", srv.ReadHeaderTimeout)
	}
	srv.ReadHeaderTimeout = 200 * time.Millisecond // the same mechanism, quicker
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1/callbacks/carwash HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(400 * time.Millisecond)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if n > 0 && !strings.Contains(string(buf[:n]), "408") && !strings.Contains(string(buf[:n]), "400") {
		t.Fatalf("slow client got %q", buf[:n])
	}
	if _, err := fmt.Fprint(conn, "X-More: 1\r\n\r\n"); err == nil {
		if n2, _ := conn.Read(buf); n2 > 0 && strings.Contains(string(buf[:n2]), "200") {
			t.Fatal("slow client was served")
		}
	}
}
