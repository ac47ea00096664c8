package energy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// ErrOverflow: an order's sum no longer fits in int64.
var ErrOverflow = errors.New("sum overflows int64")

// ErrOtherOrder: an event of another order was folded into this one.
var ErrOtherOrder = errors.New("event belongs to another order")

// Fold folds events into a fresh OrderState. On an error it returns the
// state before the failing event, and the error.
func Fold(events []domain.Event) (OrderState, error) {
	var s OrderState
	for _, e := range events {
		next, err := Evolve(s, e)
		if err != nil {
			return s, err
		}
		s = next
	}
	return s, nil
}

// Evolve applies one event to an order's state. It is pure: s is never
// changed, and delivery order or repetition does not change the result.
// Events of other types are ignored. A callback is identified by the event
// ID (by EventID(Source, Data) when the ID is empty), so a replay is a
// no-op. Receive time is e.Metadata.ReceivedAt, or e.RecordedAt when unset.
func Evolve(s OrderState, e domain.Event) (OrderState, error) {
	if e.Type != EventType {
		return s, nil
	}
	id := e.ID
	if id == "" {
		id = domain.EventID(Source, e.Data)
	}
	idx, tip := indexFor(&s)
	if _, dup := idx.ids[id]; dup {
		return s, nil
	}
	c, err := ParseCallback(e.Data)
	if err != nil {
		return s, fmt.Errorf("event %s: %w", id, err)
	}
	if s.Order.OrderID != "" && c.OrderID != s.Order.OrderID {
		return s, fmt.Errorf("event %s is for order %q, not %q: %w", id, c.OrderID, s.Order.OrderID, ErrOtherOrder)
	}
	chargedSun, ok1 := add(s.Order.ChargedSun, c.OrderMoneySun)
	energyTotal, ok2 := add(s.Order.EnergyTotal, c.EnergyNums)
	if !ok1 || !ok2 {
		return s, fmt.Errorf("order %s, event %s: %w", c.OrderID, id, ErrOverflow)
	}

	// Nothing can fail from here on.
	next := s
	o := &next.Order
	o.OrderID = c.OrderID
	o.ChargedSun, o.ChargedTrx, o.EnergyTotal = chargedSun, FormatTrx(chargedSun), energyTotal

	rec := Seen{EventID: id, Hash: c.Hash, TotalDelegateNums: c.TotalDelegateNums,
		Charged: c.OrderMoneySun > 0, Deleted: c.Has(FieldState) && c.State == StateDeleted}
	seen := s.Seen
	if !tip {
		seen = slices.Clip(seen) // never write into an array another state may extend
	}
	_, knownHash := idx.hashes[rec.Hash]
	next.Seen = append(seen, rec)
	idx.add(rec)
	idx.base = &next.Seen[0]
	next.idx = idx
	o.Callbacks = int64(len(next.Seen))
	if rec.Hash != "" && !knownHash {
		o.Delegations++
	}

	if next.SnapshotEventID == "" || snapshotLess(next.SnapshotTotal, next.SnapshotPosition, next.SnapshotEventID,
		c.TotalDelegateNums, e.Position, id) {
		next.SnapshotTotal, next.SnapshotPosition, next.SnapshotEventID = c.TotalDelegateNums, e.Position, id
		takeSnapshot(o, &c)
	}
	if rec.Deleted {
		next.Deleted = true
	}
	if next.Deleted {
		o.StateCode = StateDeleted
	}
	o.State = StateName(o.StateCode)

	at := e.Metadata.ReceivedAt
	if at.IsZero() {
		at = e.RecordedAt
	}
	if at.After(next.LastCallbackTime) {
		next.LastCallbackTime = at.UTC()
		o.LastCallbackAt = next.LastCallbackTime.Format(time.RFC3339Nano)
	}
	o.Anomalies = anomalyCount(&next, idx)
	return next, nil
}

// snapshotLess orders snapshot candidates: totalDelegateNums, then log
// position, then event id (only ties of positions, e.g. unstored events).
func snapshotLess(t1 int64, p1 domain.Position, id1 string, t2 int64, p2 domain.Position, id2 string) bool {
	if t1 != t2 {
		return t1 < t2
	}
	if p1 != p2 {
		return p1.Less(p2)
	}
	return id1 < id2
}

// takeSnapshot copies the snapshot fields of c into o.
func takeSnapshot(o *Order, c *Callback) {
	o.OutTradeNo = c.OutTradeNo
	o.ReceiveAddress = c.ReceiveAddress
	o.StateCode = -1
	if c.Has(FieldState) {
		o.StateCode = c.State
	}
	o.AutoType = c.AutoType
	o.Payment = c.Payment
	o.Recharge = c.Recharge
	o.ResourceType = c.ResourceType
	o.Source = c.Source
	o.MaxDelegateNums = c.MaxDelegateNums
	o.TotalDelegateNums = c.TotalDelegateNums
	o.Residue = c.Residue
	o.DetentionChargeTime = c.DetentionChargeTime
}

// anomalyCount is len(Anomalies(*s)), from the index in O(1).
func anomalyCount(s *OrderState, x *orderIndex) int64 {
	n := x.dupHashes
	if int64(len(x.totals)) < s.Order.TotalDelegateNums {
		n++
	}
	if overLimit(&s.Order) {
		n++
	}
	if x.chargedDeleted > 0 {
		n++
	}
	return n
}

// add returns a+b and whether it did not overflow.
func add(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}
