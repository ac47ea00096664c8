package carwash

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/tidemark/tidemark/domain"
)

// DeviceState is a device's read model plus what Evolve needs to keep it
// order-independent. It is plain data with JSON tags so a projection can
// persist it whole and load it back.
//
// Evolve may update the maps of the state it is given: treat a state passed
// to Evolve as consumed, and Clone it first to keep the old one. Pointer
// values (strings, sub-objects of Device) are never changed in place.
type DeviceState struct {
	Device Device `json:"device"`
	// Position is the log position of the last event applied. Events come in
	// log order, so one at or before it is a replay and changes nothing.
	Position domain.Position `json:"position"`
	// At holds the callTime each "latest" attribute's value comes from.
	At Stamps `json:"at"`
	// Washes and PushedOut are the distinct order ids behind washesCompleted
	// and tunnel.pushedOutOrders.
	Washes    OrderSet `json:"washes,omitempty"`
	PushedOut OrderSet `json:"pushedOut,omitempty"`
	// WaterOrders is every water-purifier order seen; SessionOrder the one
	// with the latest callback (the session shown).
	WaterOrders  map[string]WaterOrder `json:"waterOrders,omitempty"`
	SessionOrder string                `json:"sessionOrder,omitempty"`
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
	TDS         int64 `json:"tds,omitempty"`
	Session     int64 `json:"session,omitempty"` // latest callback of any water-purifier order
}

// WaterOrder is one water-purifier order's session, order-independent:
// its status is FINISHED once any WP1_WORK_FINISH is seen, else that of
// its latest READY / START_WATER / WAIT_TIMEOUT callback.
type WaterOrder struct {
	Status       string `json:"status,omitempty"` // READY, DISPENSING or TIMED_OUT
	StatusAt     int64  `json:"statusAt,omitempty"`
	FinishedAt   int64  `json:"finishedAt,omitempty"` // latest WP1_WORK_FINISH; 0 until one is seen
	VolumeLeftMl *int64 `json:"volumeLeftMl,omitempty"`
}

// OrderSet is a set of order ids, encoded as a sorted JSON array.
type OrderSet map[string]struct{}

// MarshalJSON renders the set as a sorted array, so equal sets encode equally.
func (s OrderSet) MarshalJSON() ([]byte, error) {
	return json.Marshal(slices.Sorted(maps.Keys(s)))
}

// UnmarshalJSON reads a JSON array of strings.
func (s *OrderSet) UnmarshalJSON(b []byte) error {
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return err
	}
	set := make(OrderSet, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	*s = set
	return nil
}

// Clone returns a copy of s that shares no mutable memory with it.
func (s DeviceState) Clone() DeviceState {
	s.Washes = maps.Clone(s.Washes)
	s.PushedOut = maps.Clone(s.PushedOut)
	s.WaterOrders = maps.Clone(s.WaterOrders)
	return s
}
