package carwash

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tidemark/tidemark/domain"
)

// Affected returns the devices an event applies to: its iotId, or every id
// of a MACHINE_UPDATE_STATUS list once each. An unknown type applies to its
// iotId when it has one, else to none; an event of another source to none.
// The error is for Data that does not parse.
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

// Devices lists the devices the callback applies to, each once.
func (c Callback) Devices() []int64 {
	if c.CallbackType == MachineUpdateStatus {
		ids := make([]int64, 0, len(c.IotIDList))
		for _, id := range c.IotIDList {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	if c.IotID > 0 {
		return []int64{c.IotID}
	}
	return nil
}

func (c *Callback) appliesTo(iotID int64) bool {
	if c.CallbackType == MachineUpdateStatus {
		return slices.Contains(c.IotIDList, iotID)
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

// applyInfo takes each attribute MACHINE_UPDATE_INFO reports, when it is
// the latest report of that attribute; absent attributes keep their value.
func applyInfo(s *DeviceState, c *Callback) {
	t := c.CallTime
	d := &s.Device
	latestString(&d.MachineType, &s.At.MachineType, c.MachineType, t)
	latestString(&d.Name, &s.At.Name, c.Name, t)
	latestString(&d.Country, &s.At.Country, c.Country, t)
	latestString(&d.Address, &s.At.Address, c.Address, t)
	latestString(&d.ErrorStatus, &s.At.ErrorStatus, c.ErrorStatus, t)
	if c.Longitude != nil && t >= s.At.Longitude {
		d.Longitude, s.At.Longitude = c.Longitude, t
	}
	if c.Latitude != nil && t >= s.At.Latitude {
		d.Latitude, s.At.Latitude = c.Latitude, t
	}
	if c.OnlineStatus != nil {
		switch *c.OnlineStatus {
		case "ONLINE":
			setOnline(s, true, t)
		case "OFFLINE":
			setOnline(s, false, t)
		}
	}
}

func latestString(dst **string, at *int64, v *string, t int64) {
	if v != nil && t >= *at {
		*dst, *at = v, t
	}
}

// applyStatus reads MACHINE_UPDATE_STATUS: 1 online, 0 offline; other
// values are kept in the event but say nothing about the device.
func applyStatus(s *DeviceState, c *Callback) {
	if c.Status == nil {
		return
	}
	b := c.Status
	if b[0] == '"' {
		b = b[1 : len(b)-1]
	}
	if n, ok := parseInt64(b); ok && (n == 0 || n == 1) {
		setOnline(s, n == 1, c.CallTime)
	}
}

func setOnline(s *DeviceState, online bool, t int64) {
	if t < s.At.Online {
		return
	}
	s.At.Online = t
	s.Device.Online, s.Device.OnlineChangedAt = &online, &t
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
	if s.Washes == nil {
		s.Washes = make(OrderSet)
	}
	s.Washes[c.OrderID] = struct{}{}
	s.Device.WashesCompleted = int64(len(s.Washes))
	if c.CallTime >= s.At.LastWash {
		s.At.LastWash = c.CallTime
		s.Device.LastWash = &LastWash{OrderID: c.OrderID, At: c.CallTime}
	}
}

// applyTunnel counts entries and timeouts per event (a replay is no event:
// Evolve drops it by position) and push-outs per distinct order id.
func applyTunnel(s *DeviceState, c *Callback) {
	tn := &s.Device.Tunnel
	if c.CallbackType == TT1CarPushOut {
		for _, id := range c.OrderIDList {
			if id == "" {
				continue
			}
			if s.PushedOut == nil {
				s.PushedOut = make(OrderSet)
			}
			s.PushedOut[id] = struct{}{}
		}
		tn.PushedOutOrders = int64(len(s.PushedOut))
		return
	}
	status, _ := unquote(c.Status)
	switch status {
	case "SUCCESS":
		tn.Entries++
		if tn.LastEntryAt == nil || c.CallTime > *tn.LastEntryAt {
			t := c.CallTime
			tn.LastEntryAt = &t
		}
	case "INTO_TIME_OUT":
		tn.EntryTimeouts++
	}
}
