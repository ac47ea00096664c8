package api

import (
	"context"
	"log/slog"
	"net/http"

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
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("POST /v1/callbacks/carwash", s.handleCarwash)
	s.mux.HandleFunc("POST /v1/callbacks/energy", s.handleEnergy)

	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))

	s.mux.HandleFunc("GET /v1/devices", s.read(s.handleDevices))
	s.mux.HandleFunc("GET /v1/devices/{iotId}", s.read(s.handleDevice))
	s.mux.HandleFunc("GET /v1/devices/{iotId}/events", s.read(s.handleDeviceEvents))
	s.mux.HandleFunc("GET /v1/orders", s.read(s.handleOrders))
	s.mux.HandleFunc("GET /v1/orders/{orderId}", s.read(s.handleOrder))
	s.mux.HandleFunc("GET /v1/orders/{orderId}/ledger", s.read(s.handleOrderLedger))

	s.mux.HandleFunc("GET /v1/events", s.admin(s.handleEvents))
	s.mux.HandleFunc("GET /v1/events/{eventId}/raw", s.admin(s.handleEventRaw))
	s.mux.HandleFunc("GET /v1/quarantine", s.admin(s.handleQuarantineList))
	s.mux.HandleFunc("POST /v1/quarantine/{id}/readmit", s.admin(s.handleQuarantineReadmit))
}

// ServeHTTP applies the outer middleware: panic recovery and access logs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.recoverer(s.mux).ServeHTTP(w, r)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Shutdown is a hook for symmetry with http.Server; the appender and store
// are closed by their owner after http.Server.Shutdown returned.
func (s *Server) Shutdown(context.Context) error { return nil }
