package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// accessLevel is the level of the access log: Debug, so it is off at the
// default TIDEMARK_LOG_LEVEL=info. At 5,000 callbacks/s a line each would
// cost a write(2) per request and fill the disk; metrics count requests.
const accessLevel = slog.LevelDebug

// accessLog writes one line per request: method, route pattern (not the
// path, so no ids and a bounded set of values), status, body bytes,
// duration and remote address. Never the query (it may carry the car-wash
// ?token=), headers (bearer tokens) or bodies.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), accessLevel) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern // set by the mux on this very request
		if route == "" || route == unmatchedPattern {
			route = "unmatched"
		}
		s.log.LogAttrs(r.Context(), accessLevel, "http request",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", rec.code),
			slog.Int64("bytes", rec.bytes), slog.Duration("duration", time.Since(start)),
			slog.String("remote", s.remoteAddr(r)))
	})
}

// recoverer turns a panic in a handler into a 500 and a log line: no panic
// (nor its value) reaches a client. Callbacks get their platforms' shape.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, not a returned error
					panic(v)
				}
				s.log.Error("panic in handler", "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
				if isCallback(r.URL.Path) {
					writeCallbackError(w, http.StatusInternalServerError, "internal error")
					return
				}
				writeProblem(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// read guards the read endpoints: open when no read tokens are configured,
// otherwise a read or admin bearer token is required.
func (s *Server) read(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.cfg.ReadTokens) == 0 {
			h(w, r)
			return
		}
		tok, ok := bearer(r)
		if !ok {
			unauthorized(w, false, "a bearer token is required")
			return
		}
		if tokenIn(tok, s.cfg.ReadTokens) || tokenIn(tok, s.cfg.AdminTokens) {
			h(w, r)
			return
		}
		unauthorized(w, true, "the bearer token is not valid")
	}
}

// admin guards the admin endpoints: disabled (403) when no admin token is
// configured; a read token is not enough (403).
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.cfg.AdminTokens) == 0 {
			writeProblem(w, http.StatusForbidden, "admin endpoints are disabled: set TIDEMARK_ADMIN_TOKENS")
			return
		}
		tok, ok := bearer(r)
		if !ok {
			unauthorized(w, false, "an admin bearer token is required")
			return
		}
		if tokenIn(tok, s.cfg.AdminTokens) {
			h(w, r)
			return
		}
		if tokenIn(tok, s.cfg.ReadTokens) {
			writeProblem(w, http.StatusForbidden, "this endpoint needs an admin token")
			return
		}
		unauthorized(w, true, "the bearer token is not valid")
	}
}

// unauthorized answers a 401 with the challenge every 401 must carry
// (RFC 9110 §15.5.2); a token that was presented but is not valid adds
// RFC 6750's error="invalid_token", so a client knows to replace it.
func unauthorized(w http.ResponseWriter, invalidToken bool, detail string) {
	challenge := `Bearer realm="tidemark"`
	if invalidToken {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, http.StatusUnauthorized, detail)
}

// checkQuery answers 400 to a request carrying a query parameter that is
// not in known, so a misspelt filter (asof for asOf) is an error and not a
// silently unfiltered or current answer.
func checkQuery(known map[string]bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k := range r.URL.Query() {
			if !known[k] {
				writeProblem(w, http.StatusBadRequest, "unknown query parameter "+strconv.Quote(k))
				return
			}
		}
		h(w, r)
	}
}

// queryParams is the set of the query parameters of a route's document.
func queryParams(params []param) map[string]bool {
	known := map[string]bool{}
	for _, p := range params {
		if p.in == "query" {
			known[p.name] = true
		}
	}
	return known
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// tokenIn compares in constant time; hashing first hides the tokens' lengths.
func tokenIn(tok string, tokens []string) bool {
	got := sha256.Sum256([]byte(tok))
	found := 0
	for _, t := range tokens {
		want := sha256.Sum256([]byte(t))
		found |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return found == 1
}

// secretEqual compares a presented secret with the configured one in constant time.
func secretEqual(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
