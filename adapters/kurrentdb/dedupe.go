package kurrentdb

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// stored is where an event of interest already is: its version and
// position, or, for an event this batch wrote, the write whose read-back
// will give the position.
type stored struct {
	version int64
	pos     domain.Position
	w       *write // non-nil: written by this batch, pos comes from w.pos[j]
	j       int
}

// tail is what the store knows of a stream before appending to it: its
// last version and which of the batch's event ids it already holds.
type tail struct {
	version int64 // 0: no events
	found   map[uuid.UUID]stored
}

// scanTail reads a stream newest first, looking for the ids in want. It
// stops when all are found, at the first event older than the dedupe
// horizon, or after DedupeLimit events (see the package doc).
func (s *Store) scanTail(ctx context.Context, phys string, want map[uuid.UUID]struct{}) (*tail, error) {
	var cutoff time.Time
	if s.opts.DedupeHorizon > 0 {
		cutoff = s.opts.Clock.Now().Add(-s.opts.DedupeHorizon)
	}
	limit := uint64(max(s.opts.DedupeLimit, 1))
	return call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (*tail, error) {
		t := &tail{found: make(map[uuid.UUID]stored, len(want))}
		first := true
		err := readStreamFn(ctx, c, phys, kurrentdb.End{}, kurrentdb.Backwards, limit,
			func(r *kurrentdb.RecordedEvent) (bool, error) {
				if first {
					t.version, first = versionOf(r.EventNumber), false
				}
				if _, ok := want[r.EventID]; ok {
					if !hasPosition(r.Position) {
						return false, errNoPositions
					}
					pos, err := toPosition(r.Position)
					if err != nil {
						return false, err
					}
					t.found[r.EventID] = stored{version: versionOf(r.EventNumber), pos: pos}
				}
				if len(t.found) == len(want) {
					return false, nil
				}
				return cutoff.IsZero() || !r.CreatedDate.Before(cutoff), nil
			})
		if err != nil {
			return nil, err
		}
		return t, nil
	})
}

// decision is what to do with one request, given the stream's tail.
type decision struct {
	dup      bool  // every event is stored already: report them, write nothing
	conflict bool  // some event is new and the version check fails
	expect   int64 // otherwise: the version the append expects the stream at
	fresh    []int // and the indices of the events to write
}

// plan applies the port's rules to a request: an event already stored is
// not written again; when all are stored the request succeeds whatever
// Expected says; otherwise Expected is checked (AnyVersion passes) and only
// the new events are written, expecting the stream at the version just
// read, so a writer that slipped in between makes the append fail instead
// of writing a duplicate.
func plan(expected domain.ExpectedVersion, ids []uuid.UUID, t *tail) decision {
	var fresh []int
	for j, id := range ids {
		if _, ok := t.found[id]; !ok {
			fresh = append(fresh, j)
		}
	}
	switch {
	case len(fresh) == 0:
		return decision{dup: true}
	case expected != domain.AnyVersion && int64(expected) != t.version:
		return decision{conflict: true}
	}
	return decision{expect: t.version, fresh: fresh}
}

// record notes in the tail that a write put ids[fresh[k]] at version expect+1+k.
func (t *tail) record(d decision, ids []uuid.UUID, w *write) {
	for k, j := range d.fresh {
		t.found[ids[j]] = stored{version: d.expect + 1 + int64(k), w: w, j: k}
	}
	t.version = d.expect + int64(len(d.fresh))
}
