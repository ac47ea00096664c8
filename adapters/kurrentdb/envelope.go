package kurrentdb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// Envelope ↔ KurrentDB event:
//
//	NewEvent.ID       → EventData.EventID (the UUID; KurrentDB keeps it as is)
//	NewEvent.Type     → EventData.EventType
//	NewEvent.Data     → EventData.Data, ContentType JSON (canonical JSON)
//	NewEvent.Metadata → EventData.Metadata: the JSON of domain.Metadata
//	                    plus "raw" (the body as received, base64) and, on
//	                    imported events only, "recordedAt"
//
// and back: Stream is the stream name without the store's prefix,
// StreamVersion = revision + 1, RecordedAt = the metadata's recordedAt if
// set, else the server's created time (UTC), Position from the $all pair.
// The raw body goes into the metadata rather than beside the data because
// an event has one data field, and Data must stay the canonical JSON that
// KurrentDB's own projections and UI can read.

// eventMeta is the metadata JSON of an event.
type eventMeta struct {
	domain.Metadata
	Raw        []byte     `json:"raw,omitempty"`        // base64 in JSON
	RecordedAt *time.Time `json:"recordedAt,omitempty"` // imported events keep their time here
}

// UnmarshalJSON decodes both parts: without it the embedded Metadata's
// UnmarshalJSON would be promoted and read the whole object, dropping Raw
// and RecordedAt.
func (m *eventMeta) UnmarshalJSON(b []byte) error {
	var own struct {
		Raw        []byte     `json:"raw,omitempty"`
		RecordedAt *time.Time `json:"recordedAt,omitempty"`
	}
	if err := json.Unmarshal(b, &own); err != nil {
		return err
	}
	if err := m.Metadata.UnmarshalJSON(b); err != nil {
		return err
	}
	m.Raw, m.RecordedAt = own.Raw, own.RecordedAt
	return nil
}

// parseID reads an event id; KurrentDB ids are UUIDs, and the nil UUID
// would make the client invent a random one (no idempotency).
func parseID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil || u == uuid.Nil {
		return uuid.Nil, fmt.Errorf("kurrentdb: event id %q is not a UUID: %w", id, domain.ErrInvalidEvent)
	}
	return u, nil
}

// toEventData maps an event to what the client sends. recordedAt is set
// for imports only.
func toEventData(e domain.NewEvent, recordedAt time.Time) (kurrentdb.EventData, error) {
	id, err := parseID(e.ID)
	if err != nil {
		return kurrentdb.EventData{}, err
	}
	switch {
	case e.Type == "":
		return kurrentdb.EventData{}, fmt.Errorf("kurrentdb: event %s: no type: %w", id, domain.ErrInvalidEvent)
	case strings.HasPrefix(e.Type, "$"):
		return kurrentdb.EventData{}, fmt.Errorf("kurrentdb: event %s: type %q is reserved for system events: %w", id, e.Type, domain.ErrInvalidEvent)
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return kurrentdb.EventData{}, fmt.Errorf("kurrentdb: event %s: data is not JSON: %w", id, domain.ErrInvalidEvent)
	}
	meta := eventMeta{Metadata: e.Metadata, Raw: e.Raw}
	if !recordedAt.IsZero() {
		at := recordedAt.UTC()
		meta.RecordedAt = &at
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return kurrentdb.EventData{}, fmt.Errorf("kurrentdb: event %s: metadata: %w: %w", id, err, domain.ErrInvalidEvent)
	}
	return kurrentdb.EventData{
		EventID:     id,
		EventType:   e.Type,
		ContentType: kurrentdb.ContentTypeJson,
		Data:        e.Data,
		Metadata:    mj,
	}, nil
}

// fromRecorded maps a stored event back; stream is its name without the prefix.
func fromRecorded(r *kurrentdb.RecordedEvent, stream string) (domain.Event, error) {
	pos, err := toPosition(r.Position)
	if err != nil {
		return domain.Event{}, err
	}
	var meta eventMeta
	if len(r.UserMetadata) > 0 {
		if err := json.Unmarshal(r.UserMetadata, &meta); err != nil {
			return domain.Event{}, fmt.Errorf("kurrentdb: event %s in %s: metadata: %w", r.EventID, r.StreamID, err)
		}
	}
	at := r.CreatedDate.UTC()
	if meta.RecordedAt != nil {
		at = meta.RecordedAt.UTC()
	}
	var data json.RawMessage
	if len(r.Data) > 0 {
		data = r.Data
	}
	return domain.Event{
		ID:            r.EventID.String(),
		Stream:        stream,
		StreamVersion: versionOf(r.EventNumber),
		Type:          r.EventType,
		Data:          data,
		Raw:           meta.Raw,
		Metadata:      meta.Metadata,
		RecordedAt:    at,
		Position:      pos,
	}, nil
}

// names maps domain stream names to KurrentDB's and back, and says which
// $all entries are Tidemark's.
type names struct{ prefix string }

// physical is the KurrentDB stream of a domain stream; "" and names that
// would be system streams are refused.
func (n names) physical(stream string) (string, error) {
	if stream == "" {
		return "", fmt.Errorf("kurrentdb: no stream: %w", domain.ErrInvalidEvent)
	}
	p := n.prefix + stream
	if strings.HasPrefix(p, "$") {
		return "", fmt.Errorf("kurrentdb: stream %q is a system stream name: %w", stream, domain.ErrInvalidEvent)
	}
	return p, nil
}

// logical is the domain stream of a KurrentDB event, and whether the event
// is one of ours: not a system event (type or stream starting with "$",
// which includes link events "$>" and stream metadata) and under the prefix.
func (n names) logical(r *kurrentdb.RecordedEvent) (string, bool) {
	if r == nil || strings.HasPrefix(r.EventType, "$") || strings.HasPrefix(r.StreamID, "$") {
		return "", false
	}
	s, ok := strings.CutPrefix(r.StreamID, n.prefix)
	if !ok || s == "" {
		return "", false
	}
	return s, true
}

// filter is the server-side filter of our $all subscriptions: the prefix
// when there is one (system streams start with "$", never with it), else
// "no system event types".
func (n names) filter() *kurrentdb.SubscriptionFilter {
	if n.prefix != "" {
		return &kurrentdb.SubscriptionFilter{Type: kurrentdb.StreamFilterType, Prefixes: []string{n.prefix}}
	}
	return kurrentdb.ExcludeSystemEventsFilter()
}
