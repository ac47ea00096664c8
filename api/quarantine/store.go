package quarantine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/domain"
)

// DefaultMaxEntries bounds the quarantine when no other bound is configured.
const DefaultMaxEntries = 5000

// Entry is one rejected callback.
type Entry struct {
	bun.BaseModel `bun:"table:quarantine"`

	ID           int64             `bun:"id,pk,autoincrement" json:"id"`
	Source       string            `bun:"source" json:"source"`
	ReceivedAt   time.Time         `bun:"received_at" json:"receivedAt"`
	Status       int               `bun:"status" json:"status"`
	Reason       string            `bun:"reason" json:"reason"`
	Field        string            `bun:"field" json:"field,omitempty"`
	Raw          []byte            `bun:"raw" json:"-"`
	Headers      map[string]string `bun:"headers,type:json" json:"headers"`
	RemoteAddr   string            `bun:"remote_addr" json:"remoteAddr,omitempty"`
	ReadmittedAt *time.Time        `bun:"readmitted_at" json:"readmittedAt"`
	EventID      string            `bun:"event_id" json:"eventId,omitempty"`
}

// Store is the quarantine table.
type Store struct {
	db         bun.IDB
	maxEntries int64
}

// New returns a quarantine over db keeping at most maxEntries (DefaultMaxEntries if ≤ 0).
func New(db bun.IDB, maxEntries int) *Store {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Store{db: db, maxEntries: int64(maxEntries)}
}

// Add stores a rejected callback and trims the oldest entries beyond the bound.
func (s *Store) Add(ctx context.Context, e *Entry) error {
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	if _, err := s.db.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("quarantine add: %w", interpretError(err))
	}
	if e.ID > s.maxEntries {
		if _, err := s.db.NewDelete().Model((*Entry)(nil)).Where("id <= ?", e.ID-s.maxEntries).Exec(ctx); err != nil {
			return fmt.Errorf("quarantine trim: %w", interpretError(err))
		}
	}
	return nil
}

// List returns up to limit entries with id < before (0: from the newest), newest first.
func (s *Store) List(ctx context.Context, before int64, limit int) ([]Entry, error) {
	var out []Entry
	q := s.db.NewSelect().Model(&out).Order("id DESC").Limit(limit)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("quarantine list: %w", interpretError(err))
	}
	return out, nil
}

// Get returns one entry, or domain.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Entry, error) {
	var e Entry
	err := s.db.NewSelect().Model(&e).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("quarantine entry %d: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("quarantine get: %w", interpretError(err))
	}
	return e, nil
}

// MarkReadmitted records that an entry became the given event.
func (s *Store) MarkReadmitted(ctx context.Context, id int64, eventID string, at time.Time) error {
	_, err := s.db.NewUpdate().Model((*Entry)(nil)).
		Set("readmitted_at = ?", at).Set("event_id = ?", eventID).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("quarantine mark readmitted: %w", interpretError(err))
	}
	return nil
}

// interpretError treats every database failure here as the store being
// unavailable: the quarantine has no conflicts of its own.
func interpretError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", err, domain.ErrUnavailable)
}
