package carwash

import "slices"

// Kinds of per-order memory a DeviceState keeps.
const (
	MemoryWash    = "wash"    // FINISH_WASH order ids (washesCompleted)
	MemoryPushOut = "pushout" // MACHINE_TT1_CAR_PUSH_OUT order ids (tunnel.pushedOutOrders)
	MemoryWater   = "water"   // water-purifier orders and their sessions
)

// OrderEntry is one entry of a device's per-order memory: an order id of
// one kind, with the order's session for MemoryWater. A projection stores
// a device's entries one row each, beside the state's JSON, so a device's
// write costs the same on its millionth order as on its first.
type OrderEntry struct {
	Kind    string
	OrderID string
	Water   WaterOrder // MemoryWater only
}

// OrderRefs is the kind and the order ids whose entries Evolve reads and
// writes for c on the devices it applies to: a state holding those entries
// (or all of them) folds c exactly as a state holding every entry would.
func (c *Callback) OrderRefs() (kind string, ids []string) {
	switch c.CallbackType {
	case FinishWash:
		return MemoryWash, []string{c.OrderID}
	case TT1CarPushOut:
		return MemoryPushOut, slices.DeleteFunc(slices.Clone(c.OrderIDList), func(id string) bool { return id == "" })
	case WP1CardConsumeReady, WP1StartWater, WP1WaitTimeout, WP1WorkFinish:
		return MemoryWater, []string{c.OrderID}
	}
	return "", nil
}

// Entry is the state's entry for an order id of a kind, if it holds one.
func (s *DeviceState) Entry(kind, orderID string) (OrderEntry, bool) {
	e := OrderEntry{Kind: kind, OrderID: orderID}
	var ok bool
	switch kind {
	case MemoryWash:
		_, ok = s.Washes[orderID]
	case MemoryPushOut:
		_, ok = s.PushedOut[orderID]
	case MemoryWater:
		e.Water, ok = s.WaterOrders[orderID]
	}
	return e, ok
}

// Remember puts a stored entry back into the state before folding events
// that name its order. It changes no counter: those already count it.
func (s *DeviceState) Remember(e OrderEntry) {
	switch e.Kind {
	case MemoryWash:
		if s.Washes == nil {
			s.Washes = make(OrderSet)
		}
		s.Washes[e.OrderID] = struct{}{}
	case MemoryPushOut:
		if s.PushedOut == nil {
			s.PushedOut = make(OrderSet)
		}
		s.PushedOut[e.OrderID] = struct{}{}
	case MemoryWater:
		if s.WaterOrders == nil {
			s.WaterOrders = make(map[string]WaterOrder)
		}
		s.WaterOrders[e.OrderID] = e.Water
	}
}

// Entries yields every entry the state holds.
func (s *DeviceState) Entries(yield func(OrderEntry) bool) {
	for id := range s.Washes {
		if !yield(OrderEntry{Kind: MemoryWash, OrderID: id}) {
			return
		}
	}
	for id := range s.PushedOut {
		if !yield(OrderEntry{Kind: MemoryPushOut, OrderID: id}) {
			return
		}
	}
	for id, w := range s.WaterOrders {
		if !yield(OrderEntry{Kind: MemoryWater, OrderID: id, Water: w}) {
			return
		}
	}
}

// Forget drops the state's per-order memory (its counters stay), to keep a
// state in memory without its entries; load them again before folding.
func (s *DeviceState) Forget() {
	s.Washes, s.PushedOut, s.WaterOrders = nil, nil, nil
}
