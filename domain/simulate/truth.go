package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Truth is what the read models must show once every valid callback Next
// returned has been stored (each once). Field names follow api.md's device
// and order objects, so an API answer can be decoded into the same types
// and compared.
type Truth struct {
	Seed    uint64        `json:"seed"`
	Counts  Counts        `json:"counts"`
	Devices []DeviceTruth `json:"devices"` // by iotId
	Orders  []OrderTruth  `json:"orders"`  // by orderId
}

// DeviceTruth is the expected device read model (domain.md §1). Times are
// callTimes in epoch ms.
type DeviceTruth struct {
	IotID           int64          `json:"iotId"`
	MachineType     *string        `json:"machineType"`
	Online          *bool          `json:"online"`
	OnlineChangedAt *int64         `json:"onlineChangedAt"`
	ErrorStatus     *string        `json:"errorStatus"`
	LastError       *LastError     `json:"lastError"`
	ErrorCount      int64          `json:"errorCount"`
	Parking         *Parking       `json:"parking"`
	WashesCompleted int64          `json:"washesCompleted"`
	LastWash        *LastWash      `json:"lastWash"`
	Tunnel          Tunnel         `json:"tunnel"`
	WaterPurifier   *WaterPurifier `json:"waterPurifier"`
	EventCount      int64          `json:"eventCount"` // distinct valid callbacks naming the device
	LastEventAt     int64          `json:"lastEventAt"`
}

// LastError is the latest MACHINE_ERROR.
type LastError struct {
	Message    string `json:"message"`
	CreateTime string `json:"createTime"`
	At         int64  `json:"at"`
}

// Parking is the latest parking callback, normalised.
type Parking struct {
	Status       string `json:"status"`
	CallbackType string `json:"callbackType"`
	At           int64  `json:"at"`
}

// LastWash is the latest FINISH_WASH.
type LastWash struct {
	OrderID string `json:"orderId"`
	At      int64  `json:"at"`
}

// Tunnel holds the tunnel-washer counters.
type Tunnel struct {
	Entries         int64  `json:"entries"`
	EntryTimeouts   int64  `json:"entryTimeouts"`
	PushedOutOrders int64  `json:"pushedOutOrders"`
	LastEntryAt     *int64 `json:"lastEntryAt"`
}

// WaterPurifier holds the water-purifier attributes.
type WaterPurifier struct {
	SourceTds          *int64   `json:"sourceTds"`
	CleanTds           *int64   `json:"cleanTds"`
	TdsAt              *int64   `json:"tdsAt"`
	Session            *Session `json:"session"`
	DispensesCompleted int64    `json:"dispensesCompleted"`
}

// Session is the water-purifier order with the latest callback.
type Session struct {
	OrderID      string `json:"orderId"`
	Status       string `json:"status"` // READY, DISPENSING, TIMED_OUT or FINISHED
	VolumeLeftMl *int64 `json:"volumeLeftMl"`
	At           int64  `json:"at"`
}

// OrderTruth is the expected order read model (domain.md §2).
// AnomalyTypes is what reconciliation lists; the order object has only the count.
type OrderTruth struct {
	OrderID           string   `json:"orderId"`
	State             string   `json:"state"`
	StateCode         int64    `json:"stateCode"`
	MaxDelegateNums   int64    `json:"maxDelegateNums"`
	TotalDelegateNums int64    `json:"totalDelegateNums"`
	Callbacks         int64    `json:"callbacks"`
	Delegations       int64    `json:"delegations"`
	EnergyTotal       int64    `json:"energyTotal"`
	ChargedSun        int64    `json:"chargedSun"`
	Anomalies         int64    `json:"anomalies"`
	AnomalyTypes      []string `json:"anomalyTypes,omitempty"`
}

// Truth returns the expected read models over the valid callbacks
// returned so far.
func (s *Sim) Truth() Truth {
	t := Truth{Seed: s.cfg.Seed, Counts: s.counts, Devices: []DeviceTruth{}, Orders: []OrderTruth{}}
	for _, id := range slices.Sorted(maps.Keys(s.truth.devices)) {
		t.Devices = append(t.Devices, s.truth.devices[id].result())
	}
	for _, id := range slices.Sorted(maps.Keys(s.truth.orders)) {
		t.Orders = append(t.Orders, s.truth.orders[id].result())
	}
	return t
}

// WriteTruth writes Truth as indented JSON.
func (s *Sim) WriteTruth(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.Truth()); err != nil {
		return fmt.Errorf("simulate: writing the ground truth: %w", err)
	}
	return nil
}

// truthModel accumulates the truth as valid callbacks are emitted, in any
// callTime order: "latest" values keep the callTime they come from.
type truthModel struct {
	devices map[int64]*deviceModel
	orders  map[string]*orderModel
}

func newTruthModel() truthModel {
	return truthModel{devices: map[int64]*deviceModel{}, orders: map[string]*orderModel{}}
}

func (m *truthModel) apply(p *pending) {
	switch {
	case p.cw != nil:
		e := p.cw
		if e.typ == machineUpdateStatus {
			for _, id := range e.iotIDs {
				m.device(id).apply(e)
			}
		} else if e.iotID > 0 {
			m.device(e.iotID).apply(e)
		}
	case p.en != nil:
		o := m.orders[p.en.o.id]
		if o == nil {
			o = &orderModel{id: p.en.o.id, hashes: map[string]int{}, totals: map[int64]bool{}}
			m.orders[o.id] = o
		}
		o.apply(p.en)
	}
}

func (m *truthModel) device(id int64) *deviceModel {
	d := m.devices[id]
	if d == nil {
		d = &deviceModel{iotID: id}
		m.devices[id] = d
	}
	return d
}

// stamped is a "latest" value and the callTime it comes from (0: never).
type stamped[T any] struct {
	v  T
	at int64
}

func (s *stamped[T]) offer(v T, at int64) {
	if at > s.at {
		s.v, s.at = v, at
	}
}

func (s *stamped[T]) ptr() *T {
	if s.at == 0 {
		return nil
	}
	v := s.v
	return &v
}

type deviceModel struct {
	iotID       int64
	machineType stamped[string]
	errorStatus stamped[string]
	online      stamped[bool]
	lastError   stamped[LastError]
	errorCount  int64
	parking     stamped[Parking]
	washes      map[string]bool
	lastWash    stamped[string]
	entries     int64
	timeouts    int64
	lastEntryAt int64
	pushed      map[string]bool
	water       bool
	tds         stamped[[2]int64]
	wpOrders    map[string]*wpOrder
	session     stamped[string] // the order with the latest callback
	events      int64
	lastEventAt int64
}

type wpOrder struct {
	status    stamped[string] // READY, DISPENSING or TIMED_OUT
	finished  stamped[int64]  // volume left, ml, of the latest WORK_FINISH
	hasFinish bool
}

func (d *deviceModel) apply(e *cwEvent) {
	t := e.callTime
	d.events++
	d.lastEventAt = max(d.lastEventAt, t)
	switch e.typ {
	case machineUpdateInfo:
		if e.fullInfo {
			d.machineType.offer(e.info.machineType, t)
		}
		if e.errorStatus != "" {
			d.errorStatus.offer(e.errorStatus, t)
		}
		if e.online >= 0 {
			d.online.offer(e.online == 1, t)
		}
	case machineUpdateStatus:
		d.online.offer(e.online == 1, t)
	case machineError:
		d.errorCount++
		d.lastError.offer(LastError{Message: e.errorMessage, CreateTime: e.createTime, At: t}, t)
	case faCarChange, rt2CarChange, zyParkChange:
		d.parking.offer(Parking{Status: e.park, CallbackType: e.typ, At: t}, t)
	case finishWash:
		if d.washes == nil {
			d.washes = map[string]bool{}
		}
		d.washes[e.orderID] = true
		d.lastWash.offer(e.orderID, t)
	case tt1CarInto:
		if e.status == `"SUCCESS"` {
			d.entries++
			d.lastEntryAt = max(d.lastEntryAt, t)
		} else {
			d.timeouts++
		}
	case tt1CarPushOut:
		if d.pushed == nil {
			d.pushed = map[string]bool{}
		}
		for _, id := range e.orderIDs {
			d.pushed[id] = true
		}
	case wp1UploadTDS:
		d.water = true
		d.tds.offer([2]int64{e.sourceTds, e.cleanTds}, t)
	case wp1CardConsumeReady, wp1StartWater, wp1WaitTimeout, wp1WorkFinish:
		d.water = true
		if d.wpOrders == nil {
			d.wpOrders = map[string]*wpOrder{}
		}
		o := d.wpOrders[e.orderID]
		if o == nil {
			o = &wpOrder{}
			d.wpOrders[e.orderID] = o
		}
		switch e.typ {
		case wp1WorkFinish:
			o.hasFinish = true
			o.finished.offer(e.volume, t)
		case wp1CardConsumeReady:
			o.status.offer(sessionReady, t)
		case wp1StartWater:
			o.status.offer(sessionDispensing, t)
		default:
			o.status.offer(sessionTimedOut, t)
		}
		d.session.offer(e.orderID, t)
	}
}

func (d *deviceModel) result() DeviceTruth {
	out := DeviceTruth{
		IotID:           d.iotID,
		MachineType:     d.machineType.ptr(),
		Online:          d.online.ptr(),
		ErrorStatus:     d.errorStatus.ptr(),
		LastError:       d.lastError.ptr(),
		ErrorCount:      d.errorCount,
		Parking:         d.parking.ptr(),
		WashesCompleted: int64(len(d.washes)),
		Tunnel:          Tunnel{Entries: d.entries, EntryTimeouts: d.timeouts, PushedOutOrders: int64(len(d.pushed))},
		EventCount:      d.events,
		LastEventAt:     d.lastEventAt,
	}
	if d.online.at > 0 {
		at := d.online.at
		out.OnlineChangedAt = &at
	}
	if d.lastWash.at > 0 {
		out.LastWash = &LastWash{OrderID: d.lastWash.v, At: d.lastWash.at}
	}
	if d.lastEntryAt > 0 {
		at := d.lastEntryAt
		out.Tunnel.LastEntryAt = &at
	}
	if d.water {
		wp := &WaterPurifier{}
		if d.tds.at > 0 {
			src, clean, at := d.tds.v[0], d.tds.v[1], d.tds.at
			wp.SourceTds, wp.CleanTds, wp.TdsAt = &src, &clean, &at
		}
		for _, o := range d.wpOrders {
			if o.hasFinish {
				wp.DispensesCompleted++
			}
		}
		if d.session.at > 0 {
			o := d.wpOrders[d.session.v]
			if o.hasFinish { // FINISHED is final
				vol := o.finished.v
				wp.Session = &Session{OrderID: d.session.v, Status: sessionFinished, VolumeLeftMl: &vol, At: o.finished.at}
			} else {
				wp.Session = &Session{OrderID: d.session.v, Status: o.status.v, At: o.status.at}
			}
		}
		out.WaterPurifier = wp
	}
	return out
}

type orderModel struct {
	id             string
	max            int64
	maxTotal       int64
	stateAtMax     int64
	seen           bool
	deleted        bool
	callbacks      int64
	energy         int64
	charged        int64
	hashes         map[string]int // non-empty hash → charged callbacks with it
	totals         map[int64]bool // totalDelegateNums observed (≥ 1)
	chargedDeleted bool
}

func (o *orderModel) apply(e *enEvent) {
	o.callbacks++
	o.energy += e.energyNums
	o.charged += e.moneySun
	o.max = e.o.max
	if !o.seen || e.total >= o.maxTotal {
		o.maxTotal, o.stateAtMax, o.seen = e.total, e.state, true
	}
	if e.total >= 1 {
		o.totals[e.total] = true
	}
	if e.hash != "" {
		if e.moneySun > 0 {
			o.hashes[e.hash]++
		} else if _, ok := o.hashes[e.hash]; !ok {
			o.hashes[e.hash] = 0
		}
	}
	if e.state == 2 {
		o.deleted = true
		if e.moneySun > 0 {
			o.chargedDeleted = true
		}
	}
}

var stateNames = map[int64]string{0: "stopped", 1: "delegating", 2: "deleted"}

func (o *orderModel) result() OrderTruth {
	state := o.stateAtMax
	if o.deleted {
		state = 2
	}
	out := OrderTruth{
		OrderID: o.id, State: stateNames[state], StateCode: state,
		MaxDelegateNums: o.max, TotalDelegateNums: o.maxTotal,
		Callbacks: o.callbacks, Delegations: int64(len(o.hashes)), EnergyTotal: o.energy, ChargedSun: o.charged,
	}
	if int64(len(o.totals)) < o.maxTotal {
		out.AnomalyTypes = append(out.AnomalyTypes, "DELEGATION_GAP")
	}
	for _, charged := range o.hashes {
		if charged >= 2 {
			out.AnomalyTypes = append(out.AnomalyTypes, "DUPLICATE_CHARGE")
		}
	}
	if o.max > 0 && o.maxTotal > o.max {
		out.AnomalyTypes = append(out.AnomalyTypes, "OVER_LIMIT")
	}
	if o.chargedDeleted {
		out.AnomalyTypes = append(out.AnomalyTypes, "CHARGE_ON_DELETED")
	}
	out.Anomalies = int64(len(out.AnomalyTypes))
	return out
}
