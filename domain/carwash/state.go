package carwash

import (
	"maps"

	"github.com/tidemark/tidemark/domain"
)

// DeviceState is a device's read model plus what Evolve needs to keep it
// order-independent. It is plain data with JSON tags so a projection can
// persist it and load it back; the per-order memory (Washes, PushedOut,
// WaterOrders) is left out of the JSON, see OrderEntry.
//
// Evolve may update the maps of the state it is given: treat a state passed
// to Evolve as consumed, and Clone it first to keep the old one. Pointer
// values (strings, sub-objects of Device) are never changed in place.
type DeviceState struct {
	Device Device `json:"device,omitzero"`
	// Position is the log position of the last event applied. Events come in
	// log order, so one at or before it is a replay and changes nothing.
	Position domain.Position `json:"position"`
	// At holds the callTime each "latest" attribute's value comes from.
	At Stamps `json:"at"`
	// Washes and PushedOut are the distinct order ids behind washesCompleted
	// and tunnel.pushedOutOrders; WaterOrders every water-purifier order
	// seen. They grow with the device's orders, so they are not in the
	// state's JSON: Evolve reads and writes only the entries of the orders
	// the event names (Callback.OrderRefs), and may be given a state that
	// holds just those (see OrderEntry).
	Washes      OrderSet              `json:"-"`
	PushedOut   OrderSet              `json:"-"`
	WaterOrders map[string]WaterOrder `json:"-"`
	// SessionOrder is the water-purifier order with the latest callback
	// (the session shown).
	SessionOrder string `json:"sessionOrder,omitempty"`
}

// Stamps are callTimes of the callbacks the current values come from; 0
// means never set. Every valid callTime is > 0, so any report beats 0.
type Stamps struct {
	MachineType int64 `json:"machineType,omitempty"`
	Name        int64 `json:"name,omitempty"`
	Country     int64 `json:"country,omitempty"`
	Address     int64 `json:"address,omitempty"`
	Longitude   int64 `json:"longitude,omitempty"`
	Latitude    int64 `json:"latitude,omitempty"`
	ErrorStatus int64 `json:"errorStatus,omitempty"`
	Online      int64 `json:"online,omitempty"`
	LastError   int64 `json:"lastError,omitempty"`
	Parking     int64 `json:"parking,omitempty"`
	LastWash    int64 `json:"lastWash,omitempty"`
	TDS         int64 `json:"tds,omitempty"` // latest WP1_UPLOAD_TDS (tdsAt)
	SourceTds   int64 `json:"sourceTds,omitempty"`
	CleanTds    int64 `json:"cleanTds,omitempty"`
	Session     int64 `json:"session,omitempty"` // latest callback of any water-purifier order
}

// WaterOrder is one water-purifier order's session, order-independent:
// its status is FINISHED once any WP1_WORK_FINISH is seen, else that of
// its latest READY / START_WATER / WAIT_TIMEOUT callback.
type WaterOrder struct {
	Status       string `json:"status,omitempty"` // READY, DISPENSING or TIMED_OUT
	StatusAt     int64  `json:"statusAt,omitempty"`
	FinishedAt   int64  `json:"finishedAt,omitempty"`   // latest WP1_WORK_FINISH; 0 until one is seen
	VolumeLeftMl *int64 `json:"volumeLeftMl,omitempty"` // from the latest finish that sent volume
	VolumeAt     int64  `json:"volumeAt,omitempty"`
}

// OrderSet is a set of order ids.
type OrderSet map[string]struct{}

// Clone returns a copy of s that shares no mutable memory with it.
func (s DeviceState) Clone() DeviceState {
	s.Washes = maps.Clone(s.Washes)
	s.PushedOut = maps.Clone(s.PushedOut)
	s.WaterOrders = maps.Clone(s.WaterOrders)
	return s
}
