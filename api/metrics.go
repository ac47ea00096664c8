package api

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	callbacks *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	requests  *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidemark_callbacks_total",
			Help: "Callbacks received, by source and outcome (stored, duplicate, malformed, invalid, unauthorized, too_large, unsupported_media_type, rate_limited, unavailable).",
		}, []string{"source", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidemark_callback_duration_seconds",
			Help:    "Time from request to answer for callbacks, by source and outcome.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"source", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidemark_http_requests_total",
			Help: "HTTP requests other than callbacks, by route pattern and status code.",
		}, []string{"route", "code"}),
	}
	reg.MustRegister(m.callbacks, m.latency, m.requests)
	// A registry of our own has no process metrics unless we add them.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeCallback(source, outcome string, start time.Time) {
	m.callbacks.WithLabelValues(source, outcome).Inc()
	m.latency.WithLabelValues(source, outcome).Observe(time.Since(start).Seconds())
}

func (m *metrics) observeRequest(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
