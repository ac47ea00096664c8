package carwash

import "encoding/json"

// Device is the read model of one device (api.md "Device object"). Times
// (`at`, `...At`) are callTime epoch ms. A value no callback has reported
// yet is null: the nullable attributes are pointers. Tunnel is always an
// object (zeros until a tunnel callback); WaterPurifier stays null until a
// WP1_* callback.
type Device struct {
	IotID           int64          `json:"iotId"`
	MachineType     *string        `json:"machineType"`
	Name            *string        `json:"name"`
	Country         *string        `json:"country"`
	Address         *string        `json:"address"`
	Longitude       *float64       `json:"longitude"`
	Latitude        *float64       `json:"latitude"`
	Online          *bool          `json:"online"`
	OnlineChangedAt *int64         `json:"onlineChangedAt"` // callTime of the report online comes from
	ErrorStatus     *string        `json:"errorStatus"`
	LastError       *LastError     `json:"lastError"`
	ErrorCount      int64          `json:"errorCount"`
	Parking         *Parking       `json:"parking"`
	WashesCompleted int64          `json:"washesCompleted"`
	LastWash        *LastWash      `json:"lastWash"`
	Tunnel          Tunnel         `json:"tunnel"`
	WaterPurifier   *WaterPurifier `json:"waterPurifier"`
	EventCount      int64          `json:"eventCount"`
	LastEventAt     int64          `json:"lastEventAt"` // greatest callTime seen
	Version         int64          `json:"version"`
}

// LastError is the latest MACHINE_ERROR. Fields the callback lacked are "".
type LastError struct {
	Message    string `json:"message"`
	CreateTime string `json:"createTime"` // as sent: yyyy-MM-dd or yyyy-MM-dd HH:mm:ss
	At         int64  `json:"at"`
}

// Parking is the latest FA / RT2 / ZY parking callback, normalised.
type Parking struct {
	Status       string          `json:"status"`       // SUCCESS, FAIL, FORWARD, BACK, WAIT or UNKNOWN
	Raw          json.RawMessage `json:"raw"`          // status exactly as sent (string or number; null if absent)
	CallbackType string          `json:"callbackType"` // which of the three callbacks
	At           int64           `json:"at"`
}

// LastWash is the latest FINISH_WASH.
type LastWash struct {
	OrderID string `json:"orderId"`
	At      int64  `json:"at"`
}

// Tunnel holds the tunnel-washer counters.
type Tunnel struct {
	Entries         int64  `json:"entries"`         // MACHINE_TT1_CAR_INTO with status SUCCESS
	EntryTimeouts   int64  `json:"entryTimeouts"`   // MACHINE_TT1_CAR_INTO with status INTO_TIME_OUT
	PushedOutOrders int64  `json:"pushedOutOrders"` // distinct order ids across PUSH_OUT lists
	LastEntryAt     *int64 `json:"lastEntryAt"`     // greatest callTime of a successful entry
}

// WaterPurifier holds the water-purifier attributes.
type WaterPurifier struct {
	SourceTds          *int64   `json:"sourceTds"` // from the latest WP1_UPLOAD_TDS
	CleanTds           *int64   `json:"cleanTds"`
	TdsAt              *int64   `json:"tdsAt"`
	Session            *Session `json:"session"` // the order with the latest callback
	DispensesCompleted int64    `json:"dispensesCompleted"`
}

// Session is one water-purifier order.
type Session struct {
	OrderID      string `json:"orderId"`
	Status       string `json:"status"`       // READY, DISPENSING, TIMED_OUT or FINISHED
	VolumeLeftMl *int64 `json:"volumeLeftMl"` // from WP1_WORK_FINISH
	At           int64  `json:"at"`           // callTime of the callback the status comes from
}

// Water-purifier session statuses.
const (
	SessionReady      = "READY"
	SessionDispensing = "DISPENSING"
	SessionTimedOut   = "TIMED_OUT"
	SessionFinished   = "FINISHED"
)
