package carwash

// Normalised parking statuses.
const (
	ParkingSuccess = "SUCCESS"
	ParkingFail    = "FAIL"
	ParkingForward = "FORWARD"
	ParkingBack    = "BACK"
	ParkingWait    = "WAIT"
	ParkingUnknown = "UNKNOWN"
)

// ParkingStatus normalises the status of a FA, RT2 or ZY parking callback
// (status as its raw JSON text). FA ENTER means FORWARD; ZY codes 0, 16 and
// 17 (number or string) mean SUCCESS, FORWARD and BACK. Anything else,
// including another letter case or an absent status, is UNKNOWN.
func ParkingStatus(callbackType string, status []byte) string {
	if isNull(status) {
		return ParkingUnknown
	}
	if callbackType == ZYParkChange {
		n, err := intValue("status", status)
		if err != nil {
			return ParkingUnknown
		}
		switch n {
		case 0:
			return ParkingSuccess
		case 16:
			return ParkingForward
		case 17:
			return ParkingBack
		}
		return ParkingUnknown
	}
	s, ok := unquote(status)
	if !ok {
		return ParkingUnknown
	}
	switch callbackType {
	case FACarChange:
		switch s {
		case "SUCCESS", "FAIL", "BACK", "WAIT":
			return s
		case "ENTER":
			return ParkingForward
		}
	case RT2CarChange:
		switch s {
		case "SUCCESS", "BACK", "FORWARD", "WAIT":
			return s
		}
	}
	return ParkingUnknown
}

func applyParking(s *DeviceState, c *Callback) {
	if c.CallTime < s.At.Parking {
		return
	}
	s.At.Parking = c.CallTime
	raw := c.Status
	if raw == nil {
		raw = []byte("null") // as JSON reads it back: a persisted state round-trips equal
	}
	s.Device.Parking = &Parking{
		Status:       ParkingStatus(c.CallbackType, c.Status),
		Raw:          raw,
		CallbackType: c.CallbackType,
		At:           c.CallTime,
	}
}
