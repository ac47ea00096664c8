package carwash

import (
	"encoding/json"
	"slices"

	"github.com/tidemark/tidemark/domain"
)

// Callback is the typed view of one car-wash callback body. Only the fields
// its callbackType defines are read (domain.md §1 table); anything else in
// the body is kept in the stored event but not shown here. Optional fields
// the body lacks (or sends as null) are nil.
type Callback struct {
	CallTime     int64  // epoch ms, > 0
	CallbackType string // may be a type this package does not know
	// IotID is the device; 0 when the type has none (MACHINE_UPDATE_STATUS)
	// or, for an unknown type, when the body has no positive integer iotId.
	IotID       int64
	IotIDList   []int64  // MACHINE_UPDATE_STATUS, as sent (may repeat ids)
	OrderID     string   // FINISH_WASH, WP1_* (except UPLOAD_TDS)
	OrderIDList []string // MACHINE_TT1_CAR_PUSH_OUT
	// Status is the raw JSON text of status as sent (e.g. 0, "1", "SUCCESS"); nil when absent.
	Status       json.RawMessage
	Name         *string
	Country      *string
	Address      *string
	Longitude    *float64
	Latitude     *float64
	ErrorStatus  *string // OK | ERROR | anything else, kept
	OnlineStatus *string // ONLINE | OFFLINE | anything else, kept
	MachineType  *string
	ErrorMessage *string
	CreateTime   *string
	Volume       *int64 // WP1_WORK_FINISH: water left over, ml
	SourceTds    *int64
	CleanTds     *int64

	devices []int64 // IotIDList sorted, each id once (set by ParseCallback)
}

// Known reports whether the callback's type is one the platform documents.
func (c Callback) Known() bool { return IsKnownType(c.CallbackType) }

// Stream is the stream the callback is stored in: carwash.fleet for
// MACHINE_UPDATE_STATUS, the device stream when there is an iotId (for
// unknown types too), else carwash.other.
func (c Callback) Stream() string {
	switch {
	case c.CallbackType == MachineUpdateStatus:
		return StreamFleet
	case c.IotID > 0:
		return DeviceStream(c.IotID)
	default:
		return StreamOther
	}
}

// ParseCallback reads and checks a callback body (typically a stored
// event's canonical Data) with exactly the rules Decode applies. Errors:
// domain.ErrMalformed for bytes that are not JSON, a *domain.ValidationError
// (errors.Is domain.ErrInvalidCallback) naming the field and rule otherwise.
func ParseCallback(data []byte) (Callback, error) {
	c, verr := parse(data)
	if verr != nil {
		return Callback{}, verr
	}
	return c, nil
}

// parse returns the callback or the first rule it breaks: callTime and
// callbackType first, then the type's fields' kinds in table order, then
// the type's required fields.
func parse(data []byte) (Callback, error) {
	var c Callback
	vals, err := scanFields(data)
	if err != nil {
		return c, err
	}
	hasCallTime := false
	if v := vals[fCallTime]; !isNull(v) {
		n, verr := intValue("callTime", v)
		if verr != nil {
			return c, verr
		}
		c.CallTime, hasCallTime = n, true
	}
	if v := vals[fCallbackType]; !isNull(v) {
		s, verr := stringValue("callbackType", v)
		if verr != nil {
			return c, verr
		}
		c.CallbackType = s
	}
	if err := checkEnvelope(c.CallTime, hasCallTime, c.CallbackType); err != nil {
		return c, err
	}
	spec, known := typeSpecs[c.CallbackType]
	if !known {
		// The kinds of an unknown type's fields are not fixed: an iotId that
		// is not a positive integer only means the callback is not routed.
		if v := vals[fIotID]; !isNull(v) {
			if n, verr := intValue("iotId", v); verr == nil && n > 0 {
				c.IotID = n
			}
		}
		return c, nil
	}
	hasIotID := false
	for f := fIotID; f < nFields; f++ {
		v := vals[f]
		if !spec.has(f) || isNull(v) {
			continue
		}
		if verr := c.set(f, spec, v); verr != nil {
			return c, verr
		}
		hasIotID = hasIotID || f == fIotID
	}
	if err := checkType(spec, &c, hasIotID); err != nil {
		return c, err
	}
	if len(c.IotIDList) > 0 {
		// A list may hold thousands of ids: sorted once, looked up by bisection.
		c.devices = routableIDs(c.IotIDList)
	}
	return c, nil
}

// set reads field f from its raw value v.
func (c *Callback) set(f field, spec typeSpec, v []byte) *domain.ValidationError {
	name := fieldNames[f]
	var verr *domain.ValidationError
	switch f {
	case fIotID:
		c.IotID, verr = intValue(name, v)
	case fIotIDList:
		c.IotIDList, verr = intListValue(name, v)
	case fOrderID:
		c.OrderID, verr = stringValue(name, v)
	case fOrderIDList:
		c.OrderIDList, verr = stringListValue(name, v)
	case fStatus:
		verr = checkStatus(spec.status, v)
		c.Status = append(json.RawMessage(nil), v...)
	case fLongitude, fLatitude:
		var x float64
		if x, verr = floatValue(name, v); verr == nil {
			if f == fLongitude {
				c.Longitude = &x
			} else {
				c.Latitude = &x
			}
		}
	case fVolume, fSourceTds, fCleanTds:
		var n int64
		if n, verr = intValue(name, v); verr == nil {
			switch f {
			case fVolume:
				c.Volume = &n
			case fSourceTds:
				c.SourceTds = &n
			default:
				c.CleanTds = &n
			}
		}
	default: // string fields
		var s string
		if s, verr = stringValue(name, v); verr == nil {
			*c.stringField(f) = &s
		}
	}
	return verr
}

func (c *Callback) stringField(f field) **string {
	switch f {
	case fName:
		return &c.Name
	case fCountry:
		return &c.Country
	case fAddress:
		return &c.Address
	case fErrorStatus:
		return &c.ErrorStatus
	case fOnlineStatus:
		return &c.OnlineStatus
	case fMachineType:
		return &c.MachineType
	case fErrorMessage:
		return &c.ErrorMessage
	default:
		return &c.CreateTime
	}
}

// checkStatus enforces the JSON kind the type fixes for status; its value
// is never rejected (unknown values are kept).
func checkStatus(k statusKind, v []byte) *domain.ValidationError {
	switch k {
	case statusInt:
		_, verr := intValue("status", v)
		return verr
	case statusString:
		if v[0] != '"' {
			return kindError("status", "string", "a string", v)
		}
	case statusStrOrNum:
		if v[0] != '"' && v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return kindError("status", "string_or_number", "a string or a number", v)
		}
	}
	return nil
}

// routableIDs is the ids that name a device (positive), sorted, each once.
// A non-positive id cannot be routed: it is skipped, and kept in the event.
func routableIDs(ids []int64) []int64 {
	sorted := slices.Compact(slices.Sorted(slices.Values(ids)))
	i, _ := slices.BinarySearch(sorted, 1)
	return sorted[i:]
}
