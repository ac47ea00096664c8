package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// PoisonPolicy says what a projection does with an event it cannot apply.
// Either way the event is recorded in projection_poison and counted.
type PoisonPolicy string

const (
	// PoisonSkip records the event and goes on with the next one.
	PoisonSkip PoisonPolicy = "skip"
	// PoisonStop records the event and stops the projection (status failed)
	// at the event before it, until Retry or a restart.
	PoisonStop PoisonPolicy = "stop"
)

func (p PoisonPolicy) valid() bool { return p == PoisonSkip || p == PoisonStop }

// PoisonEvent is a recorded event a projection could not apply.
type PoisonEvent struct {
	Projection string          `json:"projection"`
	Version    int             `json:"version"`
	EventID    string          `json:"eventId"`
	EventType  string          `json:"eventType"`
	Position   domain.Position `json:"-"`
	Error      string          `json:"error"`
	Policy     PoisonPolicy    `json:"policy"`
	Attempts   int             `json:"attempts"`
	FirstSeen  time.Time       `json:"firstSeen"`
	LastSeen   time.Time       `json:"lastSeen"`
}

// recordPoison stores (or, seen again, bumps) a poison event.
func recordPoison(ctx context.Context, q sqlq, pe PoisonEvent, now time.Time) error {
	msg := pe.Error
	if len(msg) > 4000 {
		msg = msg[:4000]
	}
	_, err := q.exec(ctx, `INSERT INTO projection_poison
		(projection, version, event_id, event_type, tx_id, seq, error, policy, attempts, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (projection, version, event_id) DO UPDATE SET
			error = excluded.error, policy = excluded.policy, last_seen = excluded.last_seen,
			attempts = projection_poison.attempts + 1`,
		pe.Projection, pe.Version, pe.EventID, pe.EventType, int64(pe.Position.TxID), pe.Position.Seq,
		msg, string(pe.Policy), q.f.timeArg(now), q.f.timeArg(now))
	if err != nil {
		return fmt.Errorf("record poison event %s of %s: %w", pe.EventID, pe.Projection, err)
	}
	return nil
}

// poisonSummary is what Status shows of a projection version's poison
// events: how many are recorded, and the newest one's id and error.
type poisonSummary struct {
	count int64
	last  string // "event <id> at <position>: <error>"; "" when none
}

func loadPoisonSummary(ctx context.Context, q sqlq, name string, version int) (poisonSummary, error) {
	var ps poisonSummary
	if err := q.queryRow(ctx, `SELECT count(*) FROM projection_poison WHERE projection = ? AND version = ?`,
		name, version).Scan(&ps.count); err != nil {
		return ps, fmt.Errorf("count poison events of %s v%d: %w", name, version, err)
	}
	if ps.count == 0 {
		return ps, nil
	}
	var id, msg string
	var tx, seq int64
	if err := q.queryRow(ctx, `SELECT event_id, tx_id, seq, error FROM projection_poison
		WHERE projection = ? AND version = ? ORDER BY last_seen DESC, id DESC LIMIT 1`,
		name, version).Scan(&id, &tx, &seq, &msg); err != nil {
		return ps, fmt.Errorf("last poison event of %s v%d: %w", name, version, err)
	}
	ps.last = fmt.Sprintf("event %s at %s: %s", id, domain.Position{TxID: uint64(tx), Seq: seq}, msg)
	return ps, nil
}

// listPoison returns the recorded poison events of a projection (all when
// name is empty), newest first.
func listPoison(ctx context.Context, q sqlq, name string, limit int) ([]PoisonEvent, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := q.query(ctx, `SELECT projection, version, event_id, event_type, tx_id, seq, error, policy,
		attempts, first_seen, last_seen FROM projection_poison
		WHERE (? = '' OR projection = ?) ORDER BY last_seen DESC, id DESC LIMIT ?`, name, name, limit)
	if err != nil {
		return nil, fmt.Errorf("list poison events: %w", err)
	}
	defer rows.Close()
	var out []PoisonEvent
	for rows.Next() {
		var pe PoisonEvent
		var tx int64
		var policy string
		first, last := timeScanner{}, timeScanner{}
		if err := rows.Scan(&pe.Projection, &pe.Version, &pe.EventID, &pe.EventType, &tx, &pe.Position.Seq,
			&pe.Error, &policy, &pe.Attempts, &first, &last); err != nil {
			return nil, fmt.Errorf("list poison events: %w", err)
		}
		pe.Position.TxID, pe.Policy, pe.FirstSeen, pe.LastSeen = uint64(tx), PoisonPolicy(policy), first.t, last.t
		out = append(out, pe)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list poison events: %w", err)
	}
	return out, nil
}

// timeScanner reads a time column of either dialect (timestamptz, or unix
// microseconds on SQLite).
type timeScanner struct{ t time.Time }

func (s *timeScanner) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		s.t = time.Time{}
	case time.Time:
		s.t = x.UTC()
	case int64:
		s.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("time column: unexpected %T", v)
	}
	return nil
}
