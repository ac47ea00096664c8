package sqlite

import (
	"context"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// EventByID returns one event by its id, or domain.ErrNotFound.
func (s *Store) EventByID(ctx context.Context, id string) (domain.Event, error) {
	if err := s.checkOpen(); err != nil {
		return domain.Event{}, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id)
	if err != nil {
		return domain.Event{}, fail(ctx, "event by id", err)
	}
	events, err := scanEvents(ctx, rows, "event by id")
	if err != nil {
		return domain.Event{}, err
	}
	if len(events) == 0 {
		return domain.Event{}, fmt.Errorf("event %s: %w", id, domain.ErrNotFound)
	}
	return events[0], nil
}
