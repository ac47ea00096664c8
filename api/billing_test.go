package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/billing/billingtest"
	"github.com/tidemark/tidemark/domain/energy"
)

// billingClock is the server's clock: each delivery is received at its own time.
type billingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *billingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *billingClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// billingStores opens each real store kind on a fresh database.
func billingStores() map[string]func(t *testing.T) domain.EventStore {
	return map[string]func(t *testing.T) domain.EventStore{
		"sqlite": func(t *testing.T) domain.EventStore {
			st, err := sqlite.Open(context.Background(), testdb.SQLitePath(t), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) domain.EventStore {
			st, err := postgres.Open(context.Background(), testdb.PostgresURL(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// billingHarness is a real server over a real store; requests go through
// the whole server (route table, query check, middleware).
type billingHarness struct {
	srv   *Server
	clock *billingClock
	logs  *logBuffer // warnings and errors
}

func newBillingHarness(t *testing.T, st domain.EventStore) *billingHarness {
	t.Helper()
	clock := &billingClock{}
	logs := &logBuffer{}
	srv, err := New(Config{}, Deps{Appender: st, Store: st, Clock: clock, Logger: logs.logger(slog.LevelWarn)})
	if err != nil {
		t.Fatal(err)
	}
	return &billingHarness{srv: srv, clock: clock, logs: logs}
}

// deliver posts the first viaHTTP deliveries of the month through the real
// ingest path, and appends the rest as that path would (the real decoder,
// the same metadata) in batches, retries included, so that thousands of
// orders fit in a test's time.
func (h *billingHarness) deliver(t *testing.T, st domain.EventStore, m *billingtest.Month, viaHTTP int) {
	t.Helper()
	viaHTTP = min(viaHTTP, len(m.Deliveries))
	for i, d := range m.Deliveries[:viaHTTP] {
		h.clock.set(d.At)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/energy", bytes.NewReader(d.Body))
		req.Header.Set("Content-Type", "application/json")
		h.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.String() != `{"code":0,"msg":"success"}` {
			t.Fatalf("delivery %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	var batch []domain.AppendRequest
	flush := func() {
		_, errs, err := st.AppendBatch(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("append %s: %v", batch[i].Stream, err)
			}
		}
		batch = batch[:0]
	}
	for i, d := range m.Deliveries[viaHTTP:] {
		acc, verdict, err := energy.Decoder{}.Decode(d.Body)
		if err != nil {
			t.Fatalf("delivery %d: %v", viaHTTP+i, err)
		}
		batch = append(batch, domain.AppendRequest{Stream: acc.Stream, Expected: domain.AnyVersion,
			Events: []domain.NewEvent{{ID: acc.ID, Type: acc.Type, Data: acc.Data, Raw: d.Body,
				Metadata: domain.Metadata{Source: acc.Source, ReceivedAt: d.At, ContentType: "application/json", Signature: verdict}}}})
		if len(batch) == 250 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

func (h *billingHarness) do(t *testing.T, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// billingMonthOrders: thousands of orders, fewer in -short runs; with
// TIDEMARK_SOAK set, every delivery goes through HTTP.
func billingMonthOrders() (orders, viaHTTP int) {
	switch {
	case os.Getenv("TIDEMARK_SOAK") != "":
		return 3000, 1 << 30
	case testing.Short():
		return 200, 300
	}
	return 2000, 600
}

// A generated month posted through the energy callback endpoint of a real
// server reconciles, on each store, to exactly the planted anomalies and
// totals, as JSON and as CSV, and a platform statement with planted
// discrepancies compares to exactly those.
func TestBillingEndToEnd(t *testing.T) {
	orders, viaHTTP := billingMonthOrders()
	m, err := billingtest.Generate(billingtest.Options{Seed: 7, Orders: orders})
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Planted; p.DuplicateCharges == 0 || p.DelegationGaps == 0 || p.Retries == 0 || p.LegacyAmounts == 0 ||
		p.MissingCallback == 0 || p.NotOnStatement == 0 || p.AmountMismatch == 0 || p.ChargeOnDeleted == 0 || p.OverLimit == 0 {
		t.Fatalf("the month planted too little: %+v", p)
	}
	for name, open := range billingStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			h := newBillingHarness(t, st)
			start := time.Now()
			h.deliver(t, st, m, viaHTTP)
			t.Logf("%d orders, %d deliveries (%d through HTTP) stored in %v", orders, len(m.Deliveries),
				min(viaHTTP, len(m.Deliveries)), time.Since(start).Round(time.Millisecond))

			// Retries were stored once.
			want := len(m.Deliveries) - m.Planted.Retries
			if events := readWholeLog(t, st, want); len(events) != want {
				t.Fatalf("%d events readable, want %d (deliveries less retries)", len(events), want)
			}

			t.Run("json", func(t *testing.T) {
				rec := h.do(t, http.MethodGet, "/v1/billing/reconciliation", "", nil)
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
					t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
				}
				if !strings.HasPrefix(rec.Body.String(), `{"from":null,"to":null,"orders":[{"orderId":"E0000001",`) {
					t.Fatalf("body starts %.80s", rec.Body)
				}
				var got billing.Report
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if d := billingtest.DiffReport(got, m.Report); len(d) > 0 {
					t.Fatalf("report differs from what was planted:\n%s", strings.Join(d, "\n"))
				}
			})

			t.Run("csv", func(t *testing.T) {
				rec := h.do(t, http.MethodGet, "/v1/billing/reconciliation?format=csv", "", nil)
				if rec.Code != http.StatusOK {
					t.Fatalf("%d: %s", rec.Code, rec.Body)
				}
				if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt != "text/csv" {
					t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
				}
				if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
					t.Fatalf("Content-Disposition %q", cd)
				}
				rows, err := csv.NewReader(rec.Body).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(m.Report.Orders)+1 || !slices.Equal(rows[0], billing.ReportCSVHeader) {
					t.Fatalf("%d rows, header %v", len(rows), rows[0])
				}
				for i, o := range m.Report.Orders {
					want := []string{o.OrderID, itoa(o.Callbacks), itoa(o.Delegations), itoa(o.EnergyTotal), itoa(o.ChargedSun),
						o.ChargedTrx, billing.AnomalyCell(o.Anomalies)}
					if !slices.Equal(rows[i+1], want) {
						t.Fatalf("row %d\n got  %q\n want %q", i+1, rows[i+1], want)
					}
				}
				// One row per order (api.md): no totals row after them.
			})

			t.Run("window", func(t *testing.T) {
				// The whole month, bounds set: the same figures.
				q := url.Values{"from": {m.Start.Format(time.RFC3339)}, "to": {m.End.Format(time.RFC3339)}}
				got := getReport(t, h, q)
				want := m.Report
				want.From, want.To = &m.Start, &m.End
				if d := billingtest.DiffReport(got, want); len(d) > 0 {
					t.Fatalf("[start, end):\n%s", strings.Join(d, "\n"))
				}
				// A window cutting the month: the receive times stored with the
				// events decide, as the pure builder over the same events says.
				from, to := m.Start.Add(10*24*time.Hour), m.Start.Add(17*24*time.Hour+time.Hour/2)
				q = url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
				got = getReport(t, h, q)
				b := billing.NewReport(&from, &to)
				log, err := m.Events(false)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range log {
					if err := b.Add(e); err != nil {
						t.Fatal(err)
					}
				}
				want = b.Report()
				if len(want.Orders) == 0 || want.Totals.Orders == m.Report.Totals.Orders {
					t.Fatalf("the window should hold some orders, not all: %d", want.Totals.Orders)
				}
				if d := billingtest.DiffReport(got, want); len(d) > 0 {
					t.Fatalf("[%v, %v):\n%s", from, to, strings.Join(d, "\n"))
				}
			})

			t.Run("statement", func(t *testing.T) {
				rec := h.do(t, http.MethodPost, "/v1/billing/statements", "text/csv; charset=utf-8", m.Statement)
				if rec.Code != http.StatusOK {
					t.Fatalf("%d: %s", rec.Code, rec.Body)
				}
				var got billing.Comparison
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if d := billingtest.DiffComparison(got, m.Comparison); len(d) > 0 {
					t.Fatalf("comparison differs from what was planted:\n%s", strings.Join(d, "\n"))
				}
				if got.Totals.LedgerSun != m.Report.Totals.ChargedSun {
					t.Fatalf("ledger side %d, report charged %d", got.Totals.LedgerSun, m.Report.Totals.ChargedSun)
				}
				// The CSV form: one row per item and row error, header and totals.
				rec = h.do(t, http.MethodPost, "/v1/billing/statements?format=csv", "", m.Statement)
				rows, err := csv.NewReader(rec.Body).ReadAll()
				if rec.Code != http.StatusOK || err != nil {
					t.Fatalf("%d %v", rec.Code, err)
				}
				if len(rows) != len(got.Items)+len(got.RowErrors)+2 || rows[len(rows)-1][0] != "TOTAL" ||
					rows[len(rows)-1][4] != itoa(got.Totals.StatementSun) || rows[len(rows)-1][7] != itoa(got.Totals.LedgerSun) {
					t.Fatalf("%d rows, last %q", len(rows), rows[len(rows)-1])
				}
				for i, it := range got.Items {
					if r := rows[i+1]; r[0] != it.Type || r[3] != lineCell(it.Line) || r[6] != it.EventID {
						t.Fatalf("row %d %q, item %+v", i+1, r, it)
					}
				}
			})
		})
	}
}

func lineCell(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func getReport(t *testing.T, h *billingHarness, q url.Values) billing.Report {
	t.Helper()
	rec := h.do(t, http.MethodGet, "/v1/billing/reconciliation?"+q.Encode(), "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", q.Encode(), rec.Code, rec.Body)
	}
	var r billing.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// readWholeLog reads the log until it holds want events: on PostgreSQL an
// event becomes readable only once every older transaction of the server
// has ended, which other tests' transactions can delay.
func readWholeLog(t *testing.T, st domain.EventStore, want int) []domain.Event {
	t.Helper()
	var out []domain.Event
	after := domain.Start
	deadline := time.Now().Add(2 * time.Minute)
	for {
		batch, err := st.ReadAll(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, batch...)
		if len(batch) > 0 {
			after = batch[len(batch)-1].Position
			continue
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Requests the billing endpoints refuse, and how.
func TestBillingBadRequests(t *testing.T) {
	st := billingStores()["sqlite"](t)
	h := newBillingHarness(t, st)
	good := []byte("orderId,hash,amountSun\nE1,,5\n")
	for _, tc := range []struct {
		name, method, target, contentType string
		body                              []byte
		status                            int
		detail                            string
	}{
		{"unknown format", "GET", "/v1/billing/reconciliation?format=xml", "", nil, 400, "format"},
		{"unknown parameter", "GET", "/v1/billing/reconciliation?form=2026-01-01T00:00:00Z", "", nil, 400, `"form"`},
		{"bad from", "GET", "/v1/billing/reconciliation?from=yesterday", "", nil, 400, "from must be an RFC 3339"},
		{"bad to", "GET", "/v1/billing/reconciliation?to=2026-13-01", "", nil, 400, "to must be an RFC 3339"},
		{"empty window", "GET", "/v1/billing/reconciliation?from=2026-11-02T00:00:00Z&to=2026-11-02T00:00:00Z", "", nil, 400, "before"},
		{"statement as JSON", "POST", "/v1/billing/statements", "application/json", good, 415, "text/csv"},
		{"statement too large", "POST", "/v1/billing/statements", "text/csv", bytes.Repeat([]byte("x"), maxStatementBytes+1), 413, "limited"},
		{"statement without header or data", "POST", "/v1/billing/statements", "text/csv", []byte("E1,,five\n"), 422, "line 1"},
		{"statement bad format", "POST", "/v1/billing/statements?format=pdf", "text/csv", good, 400, "format"},
		{"wrong method", "PUT", "/v1/billing/statements", "text/csv", good, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do(t, tc.method, tc.target, tc.contentType, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.detail == "" {
				return
			}
			var p problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Header().Get("Content-Type") != "application/problem+json" ||
				p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem %+v (%v), want detail with %q", p, err, tc.detail)
			}
		})
	}
	// An empty log: an empty report, and a statement whose rows are all missing callbacks.
	rec := h.do(t, http.MethodGet, "/v1/billing/reconciliation", "", nil)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"from":null,"to":null,"orders":[],"totals":{"orders":0,"callbacks":0,"delegations":0,"energyTotal":0,"chargedSun":0,"chargedTrx":"0.000000","anomalies":{}}}` {
		t.Fatalf("empty log: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, http.MethodPost, "/v1/billing/statements", "", good)
	var c billing.Comparison
	if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil || rec.Code != 200 || len(c.Items) != 1 || c.Items[0].Type != billing.MissingCallback {
		t.Fatalf("statement against an empty log: %d %s", rec.Code, rec.Body)
	}
}

// An event the reconciliation cannot read makes the report a 500 (the
// log names it; the answer carries no error text), never a report that
// silently leaves it out.
func TestBillingUnreadableEvent(t *testing.T) {
	st := billingStores()["sqlite"](t)
	h := newBillingHarness(t, st)
	_, err := st.Append(context.Background(), domain.AppendRequest{Stream: "energy.order-X", Expected: domain.AnyVersion,
		Events: []domain.NewEvent{{ID: "00000000-0000-5000-8000-000000000001", Type: "energy.OrderCallback",
			Data: []byte(`{"orderId":"X","orderMoney":"lots"}`), Raw: []byte(`{}`), Metadata: domain.Metadata{Source: "energy"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/v1/billing/reconciliation", "/v1/billing/statements"} {
		method := http.MethodGet
		if strings.HasSuffix(target, "statements") {
			method = http.MethodPost
		}
		h.logs.Reset()
		rec := h.do(t, method, target, "", []byte("orderId,hash,amountSun\n"))
		var p problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusInternalServerError || p.Detail != "internal error" {
			t.Fatalf("%s: %d %s, want a 500 internal error", target, rec.Code, rec.Body)
		}
		if !strings.Contains(h.logs.String(), "00000000-0000-5000-8000-000000000001") {
			t.Fatalf("%s: the log does not name the event:\n%s", target, h.logs)
		}
	}
}

// Sums beyond int64 sun are a 422 that says to narrow the window (not a
// 500 with the fold's error text), on both endpoints and formats; a
// narrower window reconciles. 93 orders at just under the ingest bound of
// 10^17 sun each pass MaxInt64 together; each order's own sum fits.
func TestBillingOverflowIs422(t *testing.T) {
	const money = 99_999_999_999_999_999
	for name, open := range billingStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			h := newBillingHarness(t, st)
			start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			for i := range 93 {
				h.clock.set(start.Add(time.Duration(i) * time.Minute))
				body := fmt.Appendf(nil, `{"orderId":"OVF%03d","state":1,"totalDelegateNums":1,"orderMoney":%d}`, i, money)
				req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/energy", bytes.NewReader(body))
				rec := httptest.NewRecorder()
				h.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					t.Fatalf("callback %d: %d %s", i, rec.Code, rec.Body)
				}
			}
			for _, c := range []struct{ method, target string }{
				{"GET", "/v1/billing/reconciliation"},
				{"GET", "/v1/billing/reconciliation?format=csv"},
				{"POST", "/v1/billing/statements"},
			} {
				rec := h.do(t, c.method, c.target, "", []byte("orderId,hash,amountSun\n"))
				var p problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != http.StatusUnprocessableEntity ||
					rec.Header().Get("Content-Type") != "application/problem+json" ||
					p.Detail != "the window's sums exceed int64 sun; narrow it with from and to" {
					t.Errorf("%s %s: %d %s, want 422 problem", c.method, c.target, rec.Code, rec.Body)
				}
			}
			// The first 46 orders fit.
			to := start.Add(46 * time.Minute).Format(time.RFC3339)
			rec := h.do(t, http.MethodGet, "/v1/billing/reconciliation?to="+to, "", nil)
			var rep billing.Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || rec.Code != 200 ||
				rep.Totals.Orders != 46 || rep.Totals.ChargedSun != 46*money {
				t.Fatalf("narrower window: %d %s", rec.Code, rec.Body)
			}
		})
	}
}
