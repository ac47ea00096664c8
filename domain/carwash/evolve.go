package carwash

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tidemark/tidemark/domain"
)

// Affected returns the devices an event applies to: its iotId, or every id
// of a MACHINE_UPDATE_STATUS list once each, in ascending order. An unknown
// type applies to its iotId when it has one, else to none; an event of
// another source to none. The error is for Data that does not parse.
func Affected(e domain.Event) ([]int64, error) {
	if !strings.HasPrefix(e.Type, TypePrefix) {
		return nil, nil
	}
	c, err := ParseCallback(e.Data)
	if err != nil {
		return nil, fmt.Errorf("carwash: event %s: %w", e.ID, err)
	}
	return c.Devices(), nil
}

// Devices lists the devices the callback applies to, each once (a
// MACHINE_UPDATE_STATUS list in ascending order); none for an unknown type.
func (c Callback) Devices() []int64 {
	if !c.Known() {
		return nil
	}
	if c.CallbackType == MachineUpdateStatus {
		if c.devices == nil { // built by hand, not by ParseCallback
			return routableIDs(c.IotIDList)
		}
		return slices.Clone(c.devices)
	}
	if c.IotID > 0 {
		return []int64{c.IotID}
	}
	return nil
}

func (c *Callback) appliesTo(iotID int64) bool {
	if !c.Known() {
		return false
	}
	if c.CallbackType == MachineUpdateStatus {
		if c.devices == nil {
			return iotID > 0 && slices.Contains(c.IotIDList, iotID)
		}
		_, found := slices.BinarySearch(c.devices, iotID)
		return found
	}
	return c.IotID == iotID && iotID > 0
}

// Evolve applies one event to a device's state: the one fold behind the
// projection, asOf queries and tests. Events must come in log order (every
// reader of the store gives them so): an event at or before s.Position is a
// replay and changes nothing, and a callTime tie goes to the event applied
// later, which is the later-stored one. An older callback stored late never
// overwrites a newer value, so the result does not depend on the order the
// platform delivered callbacks in.
//
// An event that does not apply to iotID (see Affected) or comes from another
// source leaves s unchanged. The error is for an event without a position
// or whose Data does not parse; s is then returned unchanged.
func Evolve(s DeviceState, iotID int64, e domain.Event) (DeviceState, error) {
	if !strings.HasPrefix(e.Type, TypePrefix) {
		return s, nil
	}
	if e.Position.IsZero() {
		return s, errNoPosition(e.ID)
	}
	if !s.Position.Less(e.Position) {
		return s, nil
	}
	c, err := ParseCallback(e.Data)
	if err != nil {
		return s, fmt.Errorf("carwash: event %s at %s: %w", e.ID, e.Position, err)
	}
	return Apply(s, iotID, e.Position, c)
}

// Apply is Evolve for a car-wash event already parsed with ParseCallback,
// at log position pos: a projection parses each event once, asks
// c.Devices() which states it touches, and applies it to each.
func Apply(s DeviceState, iotID int64, pos domain.Position, c Callback) (DeviceState, error) {
	if pos.IsZero() {
		return s, errNoPosition("")
	}
	if !s.Position.Less(pos) || !c.appliesTo(iotID) {
		return s, nil
	}
	s.Position = pos
	apply(&s, iotID, &c)
	return s, nil
}

func errNoPosition(id string) error {
	return fmt.Errorf("carwash: event %q has no log position: %w", id, domain.ErrInvalidEvent)
}

// Fold folds a device's events into its state, in log order whatever order
// they are given in, so the device stream and carwash.fleet can simply be
// concatenated. A device with no applicable event has Version 0.
func Fold(iotID int64, events []domain.Event) (DeviceState, error) {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := events[a].Position, events[b].Position
		if c := cmp.Compare(pa.TxID, pb.TxID); c != 0 {
			return c
		}
		return cmp.Compare(pa.Seq, pb.Seq)
	})
	var s DeviceState
	for _, i := range order {
		var err error
		if s, err = Evolve(s, iotID, events[i]); err != nil {
			return s, err
		}
	}
	return s, nil
}

// apply changes s by one callback that applies to the device.
func apply(s *DeviceState, iotID int64, c *Callback) {
	d := &s.Device
	d.IotID = iotID
	d.EventCount++
	d.Version++
	d.LastEventAt = max(d.LastEventAt, c.CallTime)
	switch c.CallbackType {
	case MachineUpdateInfo:
		applyInfo(s, c)
	case MachineUpdateStatus:
		applyStatus(s, c)
	case MachineError:
		applyError(s, c)
	case FACarChange, RT2CarChange, ZYParkChange:
		applyParking(s, c)
	case FinishWash:
		applyWash(s, c)
	case TT1CarInto, TT1CarPushOut:
		applyTunnel(s, c)
	case WP1CardConsumeReady, WP1StartWater, WP1WaitTimeout, WP1WorkFinish, WP1UploadTDS:
		applyWater(s, c)
	}
}

func applyError(s *DeviceState, c *Callback) {
	s.Device.ErrorCount++
	if c.CallTime < s.At.LastError {
		return
	}
	s.At.LastError = c.CallTime
	e := LastError{At: c.CallTime}
	if c.ErrorMessage != nil {
		e.Message = *c.ErrorMessage
	}
	if c.CreateTime != nil {
		e.CreateTime = *c.CreateTime
	}
	s.Device.LastError = &e
}

func applyWash(s *DeviceState, c *Callback) {
	if _, seen := s.Washes[c.OrderID]; !seen {
		if s.Washes == nil {
			s.Washes = make(OrderSet)
		}
		s.Washes[c.OrderID] = struct{}{}
		s.Device.WashesCompleted++
	}
	if c.CallTime >= s.At.LastWash {
		s.At.LastWash = c.CallTime
		s.Device.LastWash = &LastWash{OrderID: c.OrderID, At: c.CallTime}
	}
}
