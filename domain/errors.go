package domain

import "errors"

// Domain errors. Adapters translate their own failures into these, in one
// function each, so callers can use errors.Is without knowing the store.
var (
	// ErrWrongExpectedVersion: the stream's version differs from the one the append expected.
	ErrWrongExpectedVersion = errors.New("wrong expected version")
	// ErrUnavailable: the store cannot take the operation now (connection lost, read-only,
	// disk full, shutting down). The caller may retry later; nothing was written.
	ErrUnavailable = errors.New("store unavailable")
	// ErrNotFound: the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidPosition: a position or cursor that cannot be parsed.
	ErrInvalidPosition = errors.New("invalid position")
	// ErrInvalidEvent: an event the store refuses (no id, no type, no stream).
	ErrInvalidEvent = errors.New("invalid event")
)

// ErrUnauthorized: a bad or missing signature or token (answered 401, quarantined).
var ErrUnauthorized = errors.New("unauthorized")
