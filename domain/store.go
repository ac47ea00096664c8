package domain

import (
	"context"
	"time"
)

// ExpectedVersion is the optimistic-concurrency check of an append.
// A positive value n means "the stream's last version is exactly n".
type ExpectedVersion int64

const (
	// AnyVersion skips the check.
	AnyVersion ExpectedVersion = -1
	// NoStream requires that the stream has no events yet.
	NoStream ExpectedVersion = 0
)

// AppendRequest appends Events to Stream atomically: all or none.
type AppendRequest struct {
	Stream   string
	Expected ExpectedVersion
	Events   []NewEvent
}

// AppendResult tells what an append did.
//
// Idempotency: an event whose ID is already stored is not written again;
// its original position and version are reported and Duplicate is true for
// it. When every event of a request is already stored the append succeeds
// whatever Expected says (a retry of a committed append). The version check
// applies only when the request has at least one new event.
type AppendResult struct {
	Positions     []Position // one per request event, in request order
	Versions      []int64    // stream version of each event
	Duplicates    []bool     // true where the event was already stored
	StreamVersion int64      // the stream's last version after the append
}

// AllDuplicates reports whether nothing new was written.
func (r AppendResult) AllDuplicates() bool {
	for _, d := range r.Duplicates {
		if !d {
			return false
		}
	}
	return len(r.Duplicates) > 0
}

// ImportEvent is an event for bulk import: stream and version are given.
type ImportEvent struct {
	Stream        string
	StreamVersion int64
	NewEvent
	RecordedAt time.Time
}

// EventStore is the port every log adapter implements (PostgreSQL, SQLite,
// KurrentDB). One conformance suite checks them all.
type EventStore interface {
	// Append writes one request atomically in its own transaction.
	Append(ctx context.Context, req AppendRequest) (AppendResult, error)

	// AppendBatch writes many requests in ONE transaction (group commit).
	// Each request succeeds or fails on its own: errs[i] is request i's
	// outcome (e.g. ErrWrongExpectedVersion) and a failed request writes
	// nothing. The returned error is for the batch as a whole (the
	// transaction failed, nothing was written): then results and errs are nil.
	AppendBatch(ctx context.Context, reqs []AppendRequest) (results []AppendResult, errs []error, err error)

	// ReadStream returns up to limit events of a stream with version > afterVersion, oldest first.
	ReadStream(ctx context.Context, stream string, afterVersion int64, limit int) ([]Event, error)

	// ReadAll returns up to limit events after the given position, in commit
	// order. It never returns an event while an earlier-positioned event can
	// still commit: a reader that follows the log skips nothing.
	ReadAll(ctx context.Context, after Position, limit int) ([]Event, error)

	// Head is the position of the last event ReadAll can return now (Start if empty).
	Head(ctx context.Context) (Position, error)

	// WaitForEvents blocks until events after the given position may be
	// readable, ctx ends, or the store's poll interval passes; it returns
	// ctx.Err() only when ctx ends. Callers re-read and wait again.
	WaitForEvents(ctx context.Context, after Position) error

	// Import bulk-loads events (COPY on PostgreSQL). Events whose ID is
	// already stored are skipped. It returns how many were written.
	Import(ctx context.Context, events []ImportEvent) (int64, error)

	// Close releases the store's resources.
	Close() error
}

// LogScanner is an optional EventStore capability: one fast pass over a
// settled stretch of the log, for rebuilds. Projections use it when the
// store has it and read with ReadAll otherwise.
type LogScanner interface {
	// ScanAll calls fn with consecutive batches of the events sc selects.
	// The events are lean: Raw is nil and Metadata holds only Source and
	// ReceivedAt. fn may keep the batches; an error from fn ends the scan
	// and is returned.
	ScanAll(ctx context.Context, sc Scan, fn func([]Event) error) error
}

// Scan selects the events of a LogScanner pass.
type Scan struct {
	// After and Through bound the positions: after After, up to and
	// including Through. Through must be at or before a position Head
	// returned: that stretch of the log can no longer change, so the scan
	// needs no read gate.
	After, Through Position
	// Batch is the most events per call of fn (the store's choice if 0).
	Batch int
	// TypePrefix, when set, keeps only events whose type starts with it.
	TypePrefix string
	// ByStream, when set, gives the events of the streams whose name
	// starts with StreamPrefix stream after stream, each stream's in
	// version order (which is log order), instead of all in log order.
	// After must then be Start. A projection whose state is per stream
	// folds one stream at a time this way, in constant memory.
	ByStream     bool
	StreamPrefix string
}

// Clock gives the time; injected so tests control it.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
