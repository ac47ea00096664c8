package carwash

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Source is the event source of car-wash callbacks (metadata, event ids).
const Source = "carwash"

// TypePrefix prefixes a callbackType to form the event type.
const TypePrefix = "carwash."

// MaxEventTypeLen bounds the callbackType part of an event type, in bytes.
const MaxEventTypeLen = 128

// EventType is the event type a callback is stored as: TypePrefix +
// callbackType. Any non-empty callbackType is accepted (domain.md: unknown
// types are never refused), but the event type is also a column and a
// filter, so there a control character becomes U+FFFD and a name longer
// than MaxEventTypeLen bytes is cut (on a character boundary) and ends in
// "…". The event's data keeps the callbackType exactly as sent.
func EventType(callbackType string) string {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, callbackType)
	if len(clean) > MaxEventTypeLen {
		cut := MaxEventTypeLen
		for cut > 0 && !utf8.RuneStart(clean[cut]) {
			cut--
		}
		clean = clean[:cut] + "…"
	}
	return TypePrefix + clean
}

// Streams of car-wash events other than the per-device ones (DeviceStream).
const (
	// StreamFleet holds MACHINE_UPDATE_STATUS callbacks, which name many devices.
	StreamFleet = "carwash.fleet"
	// StreamOther holds callbacks of unknown types that carry no usable iotId.
	StreamOther = "carwash.other"
)

// DeviceStream is the stream of one device's callbacks.
func DeviceStream(iotID int64) string {
	return "carwash.device-" + strconv.FormatInt(iotID, 10)
}

// The callback types the platform documents.
const (
	FinishWash          = "FINISH_WASH"
	MachineUpdateInfo   = "MACHINE_UPDATE_INFO"
	MachineUpdateStatus = "MACHINE_UPDATE_STATUS"
	MachineError        = "MACHINE_ERROR"
	FACarChange         = "MACHINE_FA_CAR_CHANGE"
	RT2CarChange        = "MACHINE_RT2_CAR_CHANGE"
	ZYParkChange        = "ZY_RT_PARK_CHANGE"
	TT1CarInto          = "MACHINE_TT1_CAR_INTO"
	TT1CarPushOut       = "MACHINE_TT1_CAR_PUSH_OUT"
	WP1CardConsumeReady = "WP1_CARD_CONSUME_READY"
	WP1StartWater       = "WP1_START_WATER"
	WP1WaitTimeout      = "WP1_WAIT_TIMEOUT"
	WP1WorkFinish       = "WP1_WORK_FINISH"
	WP1UploadTDS        = "WP1_UPLOAD_TDS"
)

// field identifies a body field whose JSON kind a known type fixes.
type field uint8

const (
	fCallTime field = iota
	fCallbackType
	fIotID
	fIotIDList
	fOrderID
	fOrderIDList
	fStatus
	fName
	fCountry
	fAddress
	fLongitude
	fLatitude
	fErrorStatus
	fOnlineStatus
	fMachineType
	fErrorMessage
	fCreateTime
	fVolume
	fSourceTds
	fCleanTds
	nFields
)

// fieldNames are the JSON names, indexed by field.
var fieldNames = [nFields]string{
	"callTime", "callbackType", "iotId", "iotIdList", "orderId", "orderIdList", "status",
	"name", "country", "address", "longitude", "latitude", "errorStatus", "onlineStatus",
	"machineType", "errorMessage", "createTime", "volume", "sourceTds", "cleanTds",
}

// statusKind is the JSON kind a type fixes for its status field.
type statusKind uint8

const (
	statusNone     statusKind = iota // the type has no status field
	statusInt                        // integer (numeric string accepted)
	statusString                     // string
	statusStrOrNum                   // string or number
)

// typeSpec is one row of the per-type field table (domain.md §1).
type typeSpec struct {
	fields    uint32 // bit set of the fields the type defines (besides callTime, callbackType)
	status    statusKind
	needOrder bool // orderId is required
}

func bits(fs ...field) uint32 {
	var b uint32
	for _, f := range fs {
		b |= 1 << f
	}
	return b
}

func (t typeSpec) has(f field) bool { return t.fields&(1<<f) != 0 }

var typeSpecs = map[string]typeSpec{
	FinishWash: {fields: bits(fIotID, fOrderID), needOrder: true},
	MachineUpdateInfo: {fields: bits(fIotID, fName, fCountry, fAddress, fLongitude, fLatitude,
		fErrorStatus, fOnlineStatus, fMachineType)},
	MachineUpdateStatus: {fields: bits(fIotIDList, fStatus), status: statusInt},
	MachineError:        {fields: bits(fIotID, fErrorMessage, fCreateTime)},
	FACarChange:         {fields: bits(fIotID, fStatus), status: statusString},
	RT2CarChange:        {fields: bits(fIotID, fStatus), status: statusString},
	ZYParkChange:        {fields: bits(fIotID, fStatus), status: statusStrOrNum},
	TT1CarInto:          {fields: bits(fIotID, fStatus), status: statusString},
	TT1CarPushOut:       {fields: bits(fIotID, fOrderIDList)},
	WP1CardConsumeReady: {fields: bits(fIotID, fOrderID), needOrder: true},
	WP1StartWater:       {fields: bits(fIotID, fOrderID), needOrder: true},
	WP1WaitTimeout:      {fields: bits(fIotID, fOrderID), needOrder: true},
	WP1WorkFinish:       {fields: bits(fIotID, fOrderID, fVolume), needOrder: true},
	WP1UploadTDS:        {fields: bits(fIotID, fSourceTds, fCleanTds)},
}

// IsKnownType reports whether callbackType is one the platform documents.
// Unknown types are accepted too; projections skip them.
func IsKnownType(callbackType string) bool {
	_, ok := typeSpecs[callbackType]
	return ok
}
