package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tidemark/tidemark/domain"
)

// Server is Tidemark's HTTP handler.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	handler http.Handler // mux inside the outer middleware, built once
	limiter *tokenBucket // nil: no rate limit
	prom    http.Handler // GET /metrics
	methods []string     // the methods some route serves, for the Allow header of a 405
}

// New builds the server; cfg gets its defaults filled.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Clock == nil {
		deps.Clock = domain.SystemClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, metrics: newMetrics(deps.Registry), mux: http.NewServeMux()}
	if cfg.RateLimit > 0 {
		s.limiter = newTokenBucket(cfg.RateLimit, cfg.RateBurst, deps.Clock.Now)
	}
	s.routes()
	s.handler = s.accessLog(s.recoverer(s.mux))
	s.warnAuth()
	return s, nil
}

// warnAuth says at startup which endpoints the configuration leaves open or
// closed (api.md): read endpoints without a read token are open, even when
// an admin token is set, and admin endpoints without an admin token answer 403.
func (s *Server) warnAuth() {
	if len(s.cfg.ReadTokens) == 0 {
		s.log.Warn("read endpoints are open: no read token is configured (TIDEMARK_READ_TOKENS)")
	}
	if len(s.cfg.AdminTokens) == 0 {
		s.log.Warn("admin endpoints are disabled: no admin token is configured (TIDEMARK_ADMIN_TOKENS); rebuild, quarantine and the event log answer 403")
	}
}

// route is one endpoint: the mux pattern, who may call it, and what the
// OpenAPI document says of it. The mux and /openapi.json are both built
// from this table, so they cannot drift apart.
type route struct {
	method, path string
	auth         authLevel
	handler      func(*Server, http.ResponseWriter, *http.Request)
	doc          opDoc
}

type authLevel int

const (
	authNone  authLevel = iota // platforms' callbacks, health, metrics
	authRead                   // read token (or open when none configured)
	authAdmin                  // admin token (disabled when none configured)
)

func (s *Server) routes() {
	s.prom = promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{})
	for _, rt := range routeTable() {
		handler := rt.handler
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler(s, w, r) })
		if rt.auth != authNone { // the query and admin surface; callbacks and probes take what they are sent
			h = checkQuery(queryParams(rt.doc.params), h)
		}
		switch rt.auth {
		case authRead:
			h = s.read(h)
		case authAdmin:
			h = s.admin(h)
		}
		pattern := rt.method + " " + rt.path
		if !isCallback(rt.path) { // callbacks have metrics of their own
			h = s.counted(pattern, h)
		}
		s.mux.HandleFunc(pattern, h)
		if !slices.Contains(s.methods, rt.method) {
			s.methods = append(s.methods, rt.method)
		}
	}
	slices.Sort(s.methods)
	s.mux.HandleFunc(unmatchedPattern, s.handleUnmatched)
}

// isCallback reports whether path is one of the platforms' callback
// endpoints, which answer in their {"code","msg"} shape.
func isCallback(path string) bool { return strings.HasPrefix(path, "/v1/callbacks/") }

// counted counts a route's answers by status code (tidemark_http_requests_total).
func (s *Server) counted(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(sr, r)
		s.metrics.observeRequest(route, sr.code)
	}
}

// statusRecorder remembers the status a handler answered and counts the
// body bytes it wrote.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ServeHTTP applies the outer middleware: panic recovery and access logs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) { s.prom.ServeHTTP(w, r) }

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, statusAnswer{Status: "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(r.Context()); err != nil {
			reason := "not ready"
			if nr, ok := errors.AsType[*NotReady](err); ok {
				reason = nr.Reason
			}
			s.log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, statusAnswer{Status: "unavailable", Reason: reason})
			return
		}
	}
	writeJSON(w, http.StatusOK, statusAnswer{Status: "ready"})
}
