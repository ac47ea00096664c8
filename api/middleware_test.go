package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// logBuffer is a slog destination that tests read back.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// lines decodes the JSON log lines written so far.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func (l *logBuffer) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: level}))
}

func newTestServer(t *testing.T, cfg Config, deps Deps) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if deps.Logger == nil {
		deps.Logger = logs.logger(slog.LevelDebug)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	logs.Reset() // the startup warnings
	return s, logs
}

func serve(s *Server, method, target, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.7:4242"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// One access log line per request, by route pattern, and nothing secret in
// it: no bearer token, no ?token=, no body, no id from the path.
func TestAccessLog(t *testing.T) {
	s, logs := newTestServer(t, Config{CarwashToken: "cw-secret", AdminTokens: []string{"adm-secret"}}, Deps{})
	reqs := []struct {
		method, target, token, body string
		route                       string
		status                      int
	}{
		{"GET", "/healthz", "", "", "GET /healthz", 200},
		// No store that finds events by id: 501, after the admin check passed.
		{"GET", "/v1/events/ev-id-7/raw", "adm-secret", "", "GET /v1/events/{eventId}/raw", 501},
		{"POST", "/v1/callbacks/carwash?token=wrong-cw-secret", "", `{"iotId":1,"orderId":"body-secret"}`, "POST /v1/callbacks/carwash", 401},
		{"GET", "/v1/events", "read-secret", "", "GET /v1/events", 401},
		{"GET", "/nowhere/ev-id-8", "", "", "unmatched", 404},
	}
	var sizes []int
	for _, r := range reqs {
		rec := serve(s, r.method, r.target, r.token, []byte(r.body))
		if rec.Code != r.status {
			t.Fatalf("%s %s: %d %s, want %d", r.method, r.target, rec.Code, rec.Body, r.status)
		}
		sizes = append(sizes, rec.Body.Len())
	}
	lines := logs.lines(t)
	if len(lines) != len(reqs) {
		t.Fatalf("%d log lines, want one per request:\n%s", len(lines), logs)
	}
	for i, r := range reqs {
		l := lines[i]
		for k, want := range map[string]any{"level": "DEBUG", "msg": "http request", "method": r.method, "route": r.route,
			"status": float64(r.status), "bytes": float64(sizes[i]), "remote": "192.0.2.7:4242"} {
			if l[k] != want {
				t.Errorf("request %d: %s = %v, want %v", i, k, l[k], want)
			}
		}
		if d, ok := l["duration"].(float64); !ok || d <= 0 {
			t.Errorf("request %d: duration = %v", i, l["duration"])
		}
	}
	for _, secret := range []string{"cw-secret", "adm-secret", "read-secret", "body-secret", "ev-id-7", "ev-id-8", "token="} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}

	// At Debug: a logger set to info (the default) has no access log.
	quiet := &logBuffer{}
	s, _ = newTestServer(t, Config{}, Deps{Logger: quiet.logger(slog.LevelInfo)})
	quiet.Reset()
	serve(s, "GET", "/healthz", "", nil)
	if quiet.String() != "" {
		t.Errorf("access log above Debug: %s", quiet)
	}
}

// panicStore panics on the first thing a handler asks of it.
type panicStore struct{ domain.EventStore }

func (panicStore) Head(context.Context) (domain.Position, error) { panic("panic-value-secret") }

func (panicStore) Append(context.Context, domain.AppendRequest) (domain.AppendResult, error) {
	panic("panic-value-secret")
}

// A handler's panic is a 500 without the panic's value (a problem, or the
// platforms' shape on a callback), logged, and the access log says 500.
func TestPanicIsA500(t *testing.T) {
	energyBody, err := os.ReadFile("testdata/callbacks/energy/deleted_minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	s, logs := newTestServer(t, Config{}, Deps{Store: panicStore{}, Appender: panicStore{}})
	for _, c := range []struct {
		method, target string
		body           []byte
		contentType    string
		answer         string
	}{
		{"GET", "/v1/billing/reconciliation", nil, "application/problem+json",
			`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error"}`},
		{"POST", "/v1/callbacks/energy", energyBody, "application/json", `{"code":500,"msg":"internal error"}`},
	} {
		logs.Reset()
		rec := serve(s, c.method, c.target, "", c.body)
		if rec.Code != 500 || rec.Header().Get("Content-Type") != c.contentType || strings.TrimSpace(rec.Body.String()) != c.answer {
			t.Errorf("%s %s: %d %s %s, want 500 %s %s", c.method, c.target, rec.Code, rec.Header().Get("Content-Type"),
				rec.Body, c.contentType, c.answer)
		}
		log := logs.String()
		if !strings.Contains(log, `"msg":"panic in handler"`) || !strings.Contains(log, "panic-value-secret") ||
			!strings.Contains(log, `"msg":"http request"`) || !strings.Contains(log, `"status":500`) {
			t.Errorf("%s %s: the panic is not logged:\n%s", c.method, c.target, log)
		}
	}
}

// failingStore fails with an error whose text must stay in the log.
type failingStore struct{ domain.EventStore }

func (failingStore) Head(context.Context) (domain.Position, error) {
	return domain.Position{}, errors.New("dial tcp 10.1.2.3:5432: password authentication failed for user secret-user")
}

// A 500 answers "internal error": the error's text is logged, never sent.
func TestInternalErrorTextIsNotSent(t *testing.T) {
	s, logs := newTestServer(t, Config{}, Deps{Store: failingStore{}})
	rec := serve(s, "GET", "/v1/billing/reconciliation", "", nil)
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 500 || p.Detail != "internal error" {
		t.Fatalf("%d %s, want 500 internal error", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "secret-user") || !strings.Contains(logs.String(), `"route":"GET /v1/billing/reconciliation"`) {
		t.Fatalf("the error is not logged:\n%s", logs)
	}
}

// Bearer tokens and the car-wash secret match exactly, whatever the lengths.
func TestTokenCompare(t *testing.T) {
	tokens := []string{"read-token-1", "other"}
	for tok, want := range map[string]bool{
		"read-token-1": true, "other": true,
		"read-token-2": false, "READ-TOKEN-1": false, "read-token-1x": false, "read-token-": false, "r": false, "": false,
		"other\x00": false, strings.Repeat("x", 1000): false,
	} {
		if got := tokenIn(tok, tokens); got != want {
			t.Errorf("tokenIn(%q) = %v, want %v", tok, got, want)
		}
		if got := secretEqual(tok, "read-token-1"); got != (tok == "read-token-1") {
			t.Errorf("secretEqual(%q) = %v", tok, got)
		}
	}
	if tokenIn("read-token-1", nil) {
		t.Error("a token matched an empty list")
	}
	if secretEqual("", "secret") || secretEqual("secret", "") {
		t.Error("an empty secret matched")
	}
}

// The compare helpers stay constant-time: they compare with
// subtle.ConstantTimeCompare, never ==, bytes.Equal or strings.*, and
// tokenIn checks every configured token (no exit from its loop).
func TestTokenCompareIsConstantTime(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "middleware.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	isInt := func(e ast.Expr) bool { l, ok := e.(*ast.BasicLit); return ok && l.Kind == token.INT }
	checked := 0
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || (fn.Name.Name != "tokenIn" && fn.Name.Name != "secretEqual") {
			continue
		}
		checked++
		subtle := false
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					switch {
					case x.Name == "subtle" && n.Sel.Name == "ConstantTimeCompare":
						subtle = true
					case x.Name == "bytes" || x.Name == "strings" || x.Name == "slices" || x.Name == "reflect":
						t.Errorf("%s uses %s.%s", fn.Name.Name, x.Name, n.Sel.Name)
					}
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && !isInt(n.X) && !isInt(n.Y) {
					t.Errorf("%s compares with %s on values that are not integer results", fn.Name.Name, n.Op)
				}
			case *ast.RangeStmt:
				ast.Inspect(n.Body, func(m ast.Node) bool {
					switch m := m.(type) {
					case *ast.ReturnStmt:
						t.Errorf("%s returns from inside its loop", fn.Name.Name)
					case *ast.BranchStmt:
						if m.Tok == token.BREAK || m.Tok == token.GOTO {
							t.Errorf("%s leaves its loop early", fn.Name.Name)
						}
					}
					return true
				})
			}
			return true
		})
		if !subtle {
			t.Errorf("%s does not use subtle.ConstantTimeCompare", fn.Name.Name)
		}
	}
	if checked != 2 {
		t.Fatalf("found %d of tokenIn and secretEqual in middleware.go", checked)
	}
}

// Startup says which endpoints the tokens leave open or disabled.
func TestStartupAuthWarnings(t *testing.T) {
	const open, disabled = "read endpoints are open", "admin endpoints are disabled"
	for _, c := range []struct {
		name           string
		cfg            Config
		open, disabled bool
	}{
		{"no tokens", Config{}, true, true},
		{"admin token only", Config{AdminTokens: []string{"a"}}, true, false},
		{"read token only", Config{ReadTokens: []string{"r"}}, false, true},
		{"both", Config{ReadTokens: []string{"r"}, AdminTokens: []string{"a"}}, false, false},
	} {
		logs := &logBuffer{}
		if _, err := New(c.cfg, Deps{Logger: logs.logger(slog.LevelInfo)}); err != nil {
			t.Fatal(err)
		}
		for msg, want := range map[string]bool{open: c.open, disabled: c.disabled} {
			if got := strings.Contains(logs.String(), `"level":"WARN","msg":"`+msg); got != want {
				t.Errorf("%s: warning %q logged: %v, want %v\n%s", c.name, msg, got, want, logs)
			}
		}
	}
}

// With only an admin token, the read endpoints are open (to anyone, the
// admin token included) and the admin endpoints want the admin token.
func TestAdminTokenOnly(t *testing.T) {
	st := billingStores()["sqlite"](t)
	s, _ := newTestServer(t, Config{AdminTokens: []string{"adm"}}, Deps{Store: st, Appender: st})
	for _, c := range []struct {
		target, token string
		status        int
	}{
		{"/v1/billing/reconciliation", "", 200},
		{"/v1/billing/reconciliation", "adm", 200},
		{"/v1/billing/reconciliation", "anything", 200},
		{"/v1/events", "", 401},
		{"/v1/events", "anything", 401},
		{"/v1/events", "adm", 200},
	} {
		if rec := serve(s, "GET", c.target, c.token, nil); rec.Code != c.status {
			t.Errorf("GET %s with %q: %d %s, want %d", c.target, c.token, rec.Code, rec.Body, c.status)
		}
	}
}
