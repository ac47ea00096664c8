package kurrentdb

import (
	"fmt"
	"math"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// Positions. An event's place in $all is the pair (commit, prepare), both
// byte offsets in the transaction log, ordered by commit then prepare. It
// maps to domain.Position{TxID: commit, Seq: prepare}, and Position.Less
// compares TxID then Seq: the same order. Current servers report
// commit = prepare for events appended without explicit transactions (all
// of Tidemark's); events of one transaction may share a commit position
// and differ in prepare, which the pair still orders. domain.Start (0.0)
// is the start of $all: position 0 holds the log's first system record,
// never an event of ours.
//
// A projection checkpoint is this pair, stored by the runner as it stores
// a PostgreSQL (xid, seq) pair. Log offsets stay far below 2^63, so
// Seq = int64(prepare) is safe; a larger prepare is refused, not wrapped.

// toPosition maps a $all position to the domain's.
func toPosition(p kurrentdb.Position) (domain.Position, error) {
	if p.Prepare > math.MaxInt64 {
		return domain.Position{}, fmt.Errorf("kurrentdb: prepare position %d exceeds int64: %w", p.Prepare, domain.ErrInvalidPosition)
	}
	return domain.Position{TxID: p.Commit, Seq: int64(p.Prepare)}, nil
}

// fromPosition maps a domain position to where a $all read or
// subscription starts. Start is $all's start.
func fromPosition(p domain.Position) (kurrentdb.AllPosition, error) {
	if p.IsZero() {
		return kurrentdb.Start{}, nil
	}
	if p.Seq < 0 {
		return nil, fmt.Errorf("kurrentdb: position %v: %w", p, domain.ErrInvalidPosition)
	}
	return kurrentdb.Position{Commit: p.TxID, Prepare: uint64(p.Seq)}, nil
}

// hasPosition reports whether the server filled in an event's $all
// position. Stream reads carry it since EventStoreDB 22.6 (KurrentDB
// #3459); older servers send 0 or the all-ones "no position".
func hasPosition(p kurrentdb.Position) bool {
	return p.Commit != 0 && p.Commit != math.MaxUint64 && p.Prepare != math.MaxUint64
}

// Versions. A domain stream version is 1-based (the first event is 1; 0
// means "no events"), a KurrentDB revision 0-based: version = revision + 1.

// versionOf is the domain version of the event at a revision.
func versionOf(revision uint64) int64 { return int64(revision) + 1 }

// revisionOf is the revision of the event with a version (version >= 1).
func revisionOf(version int64) uint64 { return uint64(version - 1) }

// expectState is the append check "the stream's last version is exactly
// version": NoStream for 0, else the last event's revision. domain.AnyVersion
// never reaches the server as Any (see the package doc): the store
// resolves it to the version it has just read.
func expectState(version int64) kurrentdb.StreamState {
	if version <= 0 {
		return kurrentdb.NoStream{}
	}
	return kurrentdb.Revision(revisionOf(version))
}

// readAfter is where a forward stream read starts to return the events
// with version > after: the revision of version after+1, which is after.
func readAfter(after int64) kurrentdb.StreamPosition {
	if after <= 0 {
		return kurrentdb.Start{}
	}
	return kurrentdb.Revision(uint64(after))
}
