package projections

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics: counters updated as batches commit, and gauges read from
// Status at scrape time.
type metrics struct {
	r            *Runner
	applied      *prometheus.CounterVec
	batches      *prometheus.CounterVec
	poison       *prometheus.CounterVec
	errors       *prometheus.CounterVec
	batchSeconds *prometheus.HistogramVec

	position, head, lagEvents, lagSeconds, leader, state *prometheus.Desc
	rebuildDone, rebuildTotal, rebuildRate               *prometheus.Desc
}

func newMetrics(r *Runner) *metrics {
	l := []string{"projection"}
	g := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("tidemark_projection_"+name, help, append(l, labels...), nil)
	}
	return &metrics{
		r: r,
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tidemark_projection_events_applied_total",
			Help: "Events folded into a projection's read model by this process."}, l),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tidemark_projection_batches_total",
			Help: "Batch transactions committed (writes plus checkpoint)."}, l),
		poison: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tidemark_projection_poison_events_total",
			Help: "Events a projection could not apply, recorded in projection_poison."}, l),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tidemark_projection_errors_total",
			Help: "Failed batches (retried)."}, l),
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tidemark_projection_batch_seconds",
			Help: "Time to apply and commit one batch.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, l),
		position:     g("position_seq", "Sequence number of the last event applied."),
		head:         g("head_seq", "Sequence number of the log head."),
		lagEvents:    g("lag_events", "Events not applied yet (approximate on PostgreSQL)."),
		lagSeconds:   g("lag_seconds", "Age of the oldest event not applied yet; 0 when caught up."),
		leader:       g("leader", "1 when this process applies the projection."),
		state:        g("state", "1 for the projection's current state.", "state"),
		rebuildDone:  g("rebuild_done_events", "Events folded by the rebuild under way."),
		rebuildTotal: g("rebuild_total_events", "Events the rebuild under way has to fold."),
		rebuildRate:  g("rebuild_rate_events_per_second", "Rate of the rebuild under way."),
	}
}

func (m *metrics) register(reg *prometheus.Registry) error {
	docs := func(name, help string, v func(hits, misses int64) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tidemark_read_cache_" + name + "_total", Help: help},
			func() float64 { return float64(v(m.r.docs.Stats())) })
	}
	hits := docs("hits", "GETs by key answered from the served-document cache.", func(h, _ int64) int64 { return h })
	misses := docs("misses", "GETs by key the served-document cache could have answered but did not hold.",
		func(_, miss int64) int64 { return miss })
	for _, c := range []prometheus.Collector{m.applied, m.batches, m.poison, m.errors, m.batchSeconds, m, hits, misses} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("projections: metrics already registered: %w", err)
			}
			return fmt.Errorf("projections: register metrics: %w", err)
		}
	}
	return nil
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.position, m.head, m.lagEvents, m.lagSeconds, m.leader, m.state,
		m.rebuildDone, m.rebuildTotal, m.rebuildRate} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, s := range m.r.Status() {
		n := s.Name
		emit(ch, m.position, prometheus.GaugeValue, float64(s.Position.Seq), n)
		emit(ch, m.head, prometheus.GaugeValue, float64(s.Head.Seq), n)
		emit(ch, m.lagEvents, prometheus.GaugeValue, float64(s.LagEvents), n)
		emit(ch, m.lagSeconds, prometheus.GaugeValue, s.LagSeconds, n)
		leader := 0.0
		if s.Leader {
			leader = 1
		}
		emit(ch, m.leader, prometheus.GaugeValue, leader, n)
		for _, st := range []string{StateLive, StateCatchingUp, StateRebuilding, StateFailed} {
			v := 0.0
			if s.State == st {
				v = 1
			}
			emit(ch, m.state, prometheus.GaugeValue, v, n, st)
		}
		if s.Rebuild != nil {
			emit(ch, m.rebuildDone, prometheus.GaugeValue, float64(s.Rebuild.Done), n)
			emit(ch, m.rebuildTotal, prometheus.GaugeValue, float64(s.Rebuild.Total), n)
			emit(ch, m.rebuildRate, prometheus.GaugeValue, s.Rebuild.Rate, n)
		}
	}
}

// emit sends a gauge, dropping it if the labels do not fit (they always do).
func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, _ prometheus.ValueType, v float64, labels ...string) {
	if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...); err == nil {
		ch <- m
	}
}
