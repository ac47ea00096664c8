package energy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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

	// A hash is hex: "AB…" and "ab…" are one transaction (as on a statement).
	rec := Seen{EventID: id, Hash: strings.ToLower(c.Hash), TotalDelegateNums: c.TotalDelegateNums,
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

	mergeSnapshot(&next, &c, snapKey{c.TotalDelegateNums, e.Position, id})
	if rec.Deleted {
		next.Deleted = true
	}
	if next.Deleted {
		o.SetState(StateDeleted)
	}

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

// snapKey orders snapshot candidates: totalDelegateNums, then log
// position, then event id (only ties of positions, e.g. unstored events).
type snapKey struct {
	total int64
	pos   domain.Position
	id    string
}

func (a snapKey) less(b snapKey) bool {
	if a.total != b.total {
		return a.total < b.total
	}
	if a.pos != b.pos {
		return a.pos.Less(b.pos)
	}
	return a.id < b.id
}

// Snapshot fields other than the numeric Field* ones: the two strings, sent
// when not empty.
const (
	fieldOutTradeNo Fields = FieldOrderMoney << (1 + iota)
	fieldReceiveAddress
)

// snapshotFields are the Order fields a callback sets (domain.md §2), but
// totalDelegateNums, which is the snapshot key itself.
var snapshotFields = [...]struct {
	bit  Fields
	copy func(o *Order, c *Callback)
}{
	{fieldOutTradeNo, func(o *Order, c *Callback) { o.OutTradeNo = c.OutTradeNo }},
	{fieldReceiveAddress, func(o *Order, c *Callback) { o.ReceiveAddress = c.ReceiveAddress }},
	{FieldState, func(o *Order, c *Callback) { o.SetState(c.State) }},
	{FieldAutoType, func(o *Order, c *Callback) { o.AutoType = c.AutoType }},
	{FieldPayment, func(o *Order, c *Callback) { o.Payment = c.Payment }},
	{FieldRecharge, func(o *Order, c *Callback) { o.Recharge = c.Recharge }},
	{FieldResourceType, func(o *Order, c *Callback) { o.ResourceType = c.ResourceType }},
	{FieldSource, func(o *Order, c *Callback) { o.Source = c.Source }},
	{FieldMaxDelegateNums, func(o *Order, c *Callback) { o.MaxDelegateNums = c.MaxDelegateNums }},
	{FieldResidue, func(o *Order, c *Callback) { o.Residue = c.Residue }},
	{FieldDetentionChargeTime, func(o *Order, c *Callback) { o.DetentionChargeTime = c.DetentionChargeTime }},
}

// snapshotMask is the bits of snapshotFields.
var snapshotMask = func() Fields {
	var m Fields
	for _, f := range snapshotFields {
		m |= f.bit
	}
	return m
}()

// sentSnapshotFields is the set of snapshot fields c carries.
func sentSnapshotFields(c *Callback) Fields {
	has := c.Present & snapshotMask
	if c.OutTradeNo != "" {
		has |= fieldOutTradeNo
	}
	if c.ReceiveAddress != "" {
		has |= fieldReceiveAddress
	}
	return has
}

// mergeSnapshot folds c, of key k, into the snapshot fields of s: each
// field is the value of the greatest-keyed callback that carried it, so
// the result does not depend on delivery order. s.Older is replaced, never
// changed in place (Evolve is pure).
func mergeSnapshot(s *OrderState, c *Callback, k snapKey) {
	o := &s.Order
	has := sentSnapshotFields(c)
	first := s.SnapshotEventID == ""
	main := snapKey{s.SnapshotTotal, s.SnapshotPosition, s.SnapshotEventID}
	if !first && k.less(main) {
		// An older callback fills only what the snapshot callback lacked.
		var older []SnapshotSource
		for _, f := range snapshotFields {
			src, ok := s.source(f.bit)
			if has&f.bit != 0 && (!ok || src.less(k)) {
				f.copy(o, c)
				src, ok = k, true
			}
			if ok && s.SnapshotHas&f.bit == 0 {
				older = append(older, SnapshotSource{f.bit, src.total, src.pos, src.id})
			}
		}
		s.Older = older
		return
	}
	// c is the new snapshot callback.
	var older []SnapshotSource
	for _, f := range snapshotFields {
		if has&f.bit != 0 {
			f.copy(o, c)
			continue
		}
		if src, ok := s.source(f.bit); ok && !first {
			older = append(older, SnapshotSource{f.bit, src.total, src.pos, src.id})
		}
	}
	s.SnapshotTotal, s.SnapshotPosition, s.SnapshotEventID = k.total, k.pos, k.id
	s.SnapshotHas, s.Older = has, older
	o.TotalDelegateNums = c.TotalDelegateNums
}

// source is the key of the callback field f's value came from, if any.
func (s *OrderState) source(f Fields) (snapKey, bool) {
	if s.SnapshotEventID == "" {
		return snapKey{}, false
	}
	if s.SnapshotHas&f != 0 {
		return snapKey{s.SnapshotTotal, s.SnapshotPosition, s.SnapshotEventID}, true
	}
	for _, fs := range s.Older {
		if fs.Field == f {
			return snapKey{fs.Total, fs.Position, fs.EventID}, true
		}
	}
	return snapKey{}, false
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
