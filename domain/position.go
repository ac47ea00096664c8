package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the global log. Events are read in ascending
// (TxID, Seq) order, which is commit order: on PostgreSQL TxID is the
// writing transaction's xid8 and Seq the bigserial; on SQLite, whose single
// writer commits in sequence order, TxID is always 0.
type Position struct {
	TxID uint64
	Seq  int64
}

// Start is the position before the first event.
var Start = Position{}

// Less reports whether p comes before q in the log.
func (p Position) Less(q Position) bool {
	if p.TxID != q.TxID {
		return p.TxID < q.TxID
	}
	return p.Seq < q.Seq
}

// IsZero reports whether p is the start of the log.
func (p Position) IsZero() bool { return p == Start }

// String renders p as "txid.seq"; ParsePosition reads it back.
func (p Position) String() string {
	return strconv.FormatUint(p.TxID, 10) + "." + strconv.FormatInt(p.Seq, 10)
}

// ParsePosition reads a position written by String. A bare number is a Seq with TxID 0.
func ParsePosition(s string) (Position, error) {
	tx, seq, found := strings.Cut(s, ".")
	if !found {
		tx, seq = "0", s
	}
	t, err := strconv.ParseUint(tx, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: %w", s, ErrInvalidPosition)
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 0 {
		return Position{}, fmt.Errorf("position %q: %w", s, ErrInvalidPosition)
	}
	return Position{TxID: t, Seq: n}, nil
}
