package domain

import (
	"errors"
	"fmt"
)

// ErrInvalidCallback: well-formed JSON that breaks a rule (answered 422, quarantined).
var ErrInvalidCallback = errors.New("invalid callback")

// ValidationError names the field and the rule a callback broke.
type ValidationError struct {
	Field   string // JSON field name as sent, e.g. "iotId"; "body" for the whole body
	Rule    string // short rule name, e.g. "required", "integer", "tron_address"
	Message string // human sentence naming the field
}

func (e *ValidationError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("field %s: %s", e.Field, e.Rule)
}

// Unwrap makes errors.Is(err, ErrInvalidCallback) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidCallback }

// Accepted is a callback that passed decoding and validation: everything
// the ingest path needs to append it.
type Accepted struct {
	Source   string // "carwash" or "energy"
	Stream   string
	Type     string
	ID       string // EventID(source, Data)
	Data     []byte // canonical JSON of the body
	CallTime int64  // epoch ms for car-wash callbacks; 0 for energy
}
