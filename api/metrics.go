package api

import (
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	callbacks *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	requests  *prometheus.CounterVec

	// series caches the children of callbacks and latency for each known
	// source and outcome: a label lookup (hashing, a map under a lock)
	// per callback costs more than the observation itself.
	series [len(callbackSources)][len(callbackOutcomes)]atomic.Pointer[callbackSeries]
}

// callbackSeries are the metrics of one source and outcome.
type callbackSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// The label values of the callback metrics; others are looked up each time.
var (
	callbackSources  = [...]string{sourceCarwash, sourceEnergy}
	callbackOutcomes = [...]string{"stored", "duplicate", "malformed", "invalid", "unauthorized", "too_large",
		"unsupported_media_type", "rate_limited", "unavailable"}
)

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
	s := m.seriesOf(source, outcome)
	s.count.Inc()
	s.latency.Observe(time.Since(start).Seconds())
}

// seriesOf returns the cached series, creating it on first use (so, as
// with WithLabelValues, a series appears once it has been observed).
func (m *metrics) seriesOf(source, outcome string) *callbackSeries {
	si, oi := slices.Index(callbackSources[:], source), slices.Index(callbackOutcomes[:], outcome)
	if si < 0 || oi < 0 {
		return m.newSeries(source, outcome)
	}
	p := &m.series[si][oi]
	if s := p.Load(); s != nil {
		return s
	}
	s := m.newSeries(source, outcome)
	p.Store(s) // a racing caller stores the same children: WithLabelValues returns one per labels
	return s
}

func (m *metrics) newSeries(source, outcome string) *callbackSeries {
	return &callbackSeries{count: m.callbacks.WithLabelValues(source, outcome), latency: m.latency.WithLabelValues(source, outcome)}
}

func (m *metrics) observeRequest(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}
