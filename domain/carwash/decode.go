package carwash

import (
	"fmt"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/internal/canonjson"
)

// Decode turns a callback body into what the ingest path appends. Errors:
// domain.ErrMalformed (400) for bytes that are not one JSON value, else a
// *domain.ValidationError (422, errors.Is domain.ErrInvalidCallback) naming
// the field and the rule. Unknown callback types, unknown enum values and
// extra fields are accepted and kept.
func Decode(raw []byte) (domain.Accepted, error) {
	data, err := canonical(raw)
	if err != nil {
		return domain.Accepted{}, err
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
		Type:     EventType(c.CallbackType),
		ID:       domain.EventID(Source, data),
		Data:     data,
		CallTime: c.CallTime,
	}, nil
}

// canonical is domain.Canonical(domain.ParseObject(raw)): in one pass for
// a body of the common shape, through a decoded map otherwise (which also
// words the errors).
func canonical(raw []byte) ([]byte, error) {
	if data, ok := canonjson.Object(raw); ok {
		return data, nil
	}
	obj, err := domain.ParseObject(raw)
	if err != nil {
		return nil, err
	}
	data, err := domain.Canonical(obj)
	if err != nil {
		return nil, fmt.Errorf("car-wash callback: %w", err)
	}
	return data, nil
}
