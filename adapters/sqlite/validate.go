package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// validateRequest rejects what no store may write: no stream, no events, an
// event without id or type, data that is not JSON, one id twice.
func validateRequest(req domain.AppendRequest) error {
	if req.Stream == "" {
		return fmt.Errorf("sqlite: append: empty stream: %w", domain.ErrInvalidEvent)
	}
	if len(req.Events) == 0 {
		return fmt.Errorf("sqlite: append to %q: no events: %w", req.Stream, domain.ErrInvalidEvent)
	}
	seen := make(map[string]struct{}, len(req.Events))
	for i, e := range req.Events {
		if err := validateEvent(e); err != nil {
			return fmt.Errorf("sqlite: append to %q, event %d: %w", req.Stream, i, err)
		}
		if _, dup := seen[e.ID]; dup {
			return fmt.Errorf("sqlite: append to %q: id %s twice in one request: %w", req.Stream, e.ID, domain.ErrInvalidEvent)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

func validateEvent(e domain.NewEvent) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("empty id: %w", domain.ErrInvalidEvent)
	case e.Type == "":
		return fmt.Errorf("event %s: empty type: %w", e.ID, domain.ErrInvalidEvent)
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return fmt.Errorf("event %s: data is not JSON: %w", e.ID, domain.ErrInvalidEvent)
	}
	return nil
}
