package billing

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// Report is the reconciliation of a receive-time window, shaped as api.md's
// Reconciliation object.
type Report struct {
	From   *time.Time  `json:"from"` // null when open
	To     *time.Time  `json:"to"`
	Orders []OrderLine `json:"orders"` // sorted by orderId
	Totals Totals      `json:"totals"`
}

// OrderLine is one order's figures over the window.
type OrderLine struct {
	OrderID     string           `json:"orderId"`
	Callbacks   int64            `json:"callbacks"`
	Delegations int64            `json:"delegations"`
	EnergyTotal int64            `json:"energyTotal"`
	ChargedSun  int64            `json:"chargedSun"`
	ChargedTrx  string           `json:"chargedTrx"`
	Anomalies   []energy.Anomaly `json:"anomalies"` // [] when none
}

// Totals are the sums over every order of the window.
type Totals struct {
	Orders      int64  `json:"orders"`
	Callbacks   int64  `json:"callbacks"`
	Delegations int64  `json:"delegations"`
	EnergyTotal int64  `json:"energyTotal"`
	ChargedSun  int64  `json:"chargedSun"`
	ChargedTrx  string `json:"chargedTrx"`
	// Anomalies counts anomalies by type; a type with none is absent.
	Anomalies map[string]int64 `json:"anomalies"`
}

// Builder builds a Report from the event log in one pass. It holds one
// energy.OrderState per order seen in the window, and one per order over
// its whole history up to the window's end, from which DELEGATION_GAP is
// judged: a delegation number reported before the window was not lost.
type Builder struct {
	window  Window
	orders  map[string]*energy.OrderState
	history map[string]*energy.OrderState
	// Running grand totals, kept so that an overflow is refused by the Add
	// that causes it rather than found later.
	callbacks, delegations, energy, charged int64
}

// NewReport starts a report over [from, to); nil bounds are open.
func NewReport(from, to *time.Time) *Builder {
	return &Builder{window: Window{From: utcCopy(from), To: utcCopy(to)}, orders: map[string]*energy.OrderState{},
		history: map[string]*energy.OrderState{}}
}

// Add applies one event of the log. Events of other types and events
// received after the window are ignored; one received before it counts
// only for DELEGATION_GAP; an event already applied (same
// id) changes nothing. On an error the builder is unchanged: the event's
// data cannot be read, or a sum would overflow int64 (ErrOverflow).
func (b *Builder) Add(e domain.Event) error {
	if e.Type != energy.EventType || !(Window{To: b.window.To}).Contains(ReceivedAt(e)) {
		return nil
	}
	c, err := energy.ParseCallback(e.Data)
	if err != nil {
		return fmt.Errorf("reconciliation: event %s: %w", e.ID, err)
	}
	if b.window.From != nil {
		if err := b.addHistory(c.OrderID, e); err != nil {
			return err
		}
		if !b.window.Contains(ReceivedAt(e)) {
			return nil
		}
	}
	prev := b.orders[c.OrderID]
	if prev == nil {
		prev = &energy.OrderState{}
	}
	next, err := energy.Evolve(*prev, e)
	if err != nil {
		return fmt.Errorf("reconciliation: order %s: %w", c.OrderID, err)
	}
	p, n := &prev.Order, &next.Order
	charged, err := addSun(b.charged, n.ChargedSun-p.ChargedSun)
	if err != nil {
		return fmt.Errorf("reconciliation: total charged: %w", err)
	}
	energyTotal, err := addSun(b.energy, n.EnergyTotal-p.EnergyTotal)
	if err != nil {
		return fmt.Errorf("reconciliation: total energy: %w", err)
	}
	b.charged, b.energy = charged, energyTotal
	b.callbacks += n.Callbacks - p.Callbacks
	b.delegations += n.Delegations - p.Delegations
	b.orders[c.OrderID] = &next
	return nil
}

// addHistory folds e into its order's history (kept only for a window
// with a start: otherwise the window's own states are the history).
func (b *Builder) addHistory(orderID string, e domain.Event) error {
	h := b.history[orderID]
	if h == nil {
		h = &energy.OrderState{}
	}
	next, err := energy.Evolve(*h, e)
	if err != nil {
		return fmt.Errorf("reconciliation: order %s: %w", orderID, err)
	}
	b.history[orderID] = &next
	return nil
}

// anomalies are the window's anomalies of an order, its DELEGATION_GAP
// judged on its history up to the window's end.
func (b *Builder) anomalies(id string, s *energy.OrderState) []energy.Anomaly {
	in := energy.Anomalies(*s)
	h := b.history[id]
	if h == nil {
		return in
	}
	out := make([]energy.Anomaly, 0, len(in))
	for _, a := range energy.Anomalies(*h) {
		if a.Type == energy.AnomalyDelegationGap {
			out = append(out, a)
		}
	}
	for _, a := range in {
		if a.Type != energy.AnomalyDelegationGap {
			out = append(out, a)
		}
	}
	return out
}

// Report returns the report of the events added so far.
func (b *Builder) Report() Report {
	from, to := b.window.bounds()
	r := Report{From: from, To: to, Orders: make([]OrderLine, 0, len(b.orders)), Totals: Totals{
		Orders: int64(len(b.orders)), Callbacks: b.callbacks, Delegations: b.delegations,
		EnergyTotal: b.energy, ChargedSun: b.charged, ChargedTrx: energy.FormatTrx(b.charged),
		Anomalies: map[string]int64{},
	}}
	for id, s := range b.orders {
		o := &s.Order
		line := OrderLine{OrderID: id, Callbacks: o.Callbacks, Delegations: o.Delegations,
			EnergyTotal: o.EnergyTotal, ChargedSun: o.ChargedSun, ChargedTrx: energy.FormatTrx(o.ChargedSun),
			Anomalies: b.anomalies(id, s)}
		for _, a := range line.Anomalies {
			r.Totals.Anomalies[a.Type]++
		}
		r.Orders = append(r.Orders, line)
	}
	slices.SortFunc(r.Orders, func(a, b OrderLine) int { return strings.Compare(a.OrderID, b.OrderID) })
	return r
}
