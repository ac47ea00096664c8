package carwash

import (
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// Decode turns a callback body into what the ingest path appends. Errors:
// domain.ErrMalformed (400) for bytes that are not one JSON value, else a
// *domain.ValidationError (422, errors.Is domain.ErrInvalidCallback) naming
// the field and the rule. Unknown callback types, unknown enum values and
// extra fields are accepted and kept.
func Decode(raw []byte) (domain.Accepted, error) {
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return domain.Accepted{}, err
	}
	data, err := domain.Canonical(obj)
	if err != nil {
		return domain.Accepted{}, fmt.Errorf("car-wash callback: %w", err)
	}
	// The rules read the canonical form, so a stored event is checked by
	// ParseCallback exactly as it was at the door.
	c, err := parse(data)
	if err != nil {
		return domain.Accepted{}, err
	}
	return domain.Accepted{
		Source:   Source,
		Stream:   c.Stream(),
		Type:     TypePrefix + c.CallbackType,
		ID:       domain.EventID(Source, data),
		Data:     data,
		CallTime: c.CallTime,
	}, nil
}
