package postgres

import (
	"context"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// EventByID returns one event by its id (any committed event, not only
// those past the read gate), or domain.ErrNotFound.
func (s *Store) EventByID(ctx context.Context, id string) (domain.Event, error) {
	uid, ok := canonicalUUID(id)
	if !ok {
		return domain.Event{}, fmt.Errorf("event %q: %w", id, domain.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1::uuid`, uid)
	if err != nil {
		return domain.Event{}, fmt.Errorf("postgres: event %s: %w", id, interpretError(err))
	}
	events, err := scanEvents(rows, 1)
	if err != nil {
		return domain.Event{}, fmt.Errorf("postgres: event %s: %w", id, interpretError(err))
	}
	if len(events) == 0 {
		return domain.Event{}, fmt.Errorf("event %s: %w", id, domain.ErrNotFound)
	}
	return events[0], nil
}
