package domain

import (
	"encoding/json"
	"time"
)

// Event is one immutable entry of the log: an accepted callback.
type Event struct {
	ID            string          // UUID (v5 for callbacks), unique across the log
	Stream        string          // e.g. carwash.device-123456, energy.order-E1
	StreamVersion int64           // 1 for the first event of a stream
	Type          string          // e.g. carwash.FINISH_WASH, energy.OrderCallback
	Data          json.RawMessage // canonical JSON of the body (keys sorted, compact)
	Raw           []byte          // the body exactly as received
	Metadata      Metadata
	RecordedAt    time.Time // when the store committed it (UTC)
	Position      Position  // place in the global log, in commit order
}

// NewEvent is an event not yet appended: the store assigns version, time and position.
type NewEvent struct {
	ID       string
	Type     string
	Data     json.RawMessage
	Raw      []byte
	Metadata Metadata
}

// Metadata says where an event came from. It is stored beside the event as JSON.
type Metadata struct {
	Source      string    `json:"source"`                // "carwash" or "energy"
	ReceivedAt  time.Time `json:"receivedAt"`            // from the injected clock at the HTTP edge
	RemoteAddr  string    `json:"remoteAddr,omitempty"`  // client address as seen by the server
	ContentType string    `json:"contentType,omitempty"` // request Content-Type
	Signature   string    `json:"signature,omitempty"`   // SignatureValid, SignatureUnverified or SignatureNone
	// Readmitted names the quarantine entry an event came from, if any.
	Readmitted int64 `json:"readmitted,omitempty"`
}

// Signature verdicts kept in Metadata.Signature.
const (
	SignatureValid      = "valid"      // checked against the configured secret
	SignatureUnverified = "unverified" // no secret configured: not checked
	SignatureNone       = "none"       // the source has no signature (car-wash)
)

// MaxIDLen bounds, in bytes, the ids a callback names that become keys of
// the log or the read models: an energy orderId (its stream), a car-wash
// orderId (a device's order rows). Indexes have a row-size limit
// (PostgreSQL's btree: about 2.7 kB), so a longer id could never be stored;
// it is refused at the door (422, quarantined) instead.
const MaxIDLen = 128
