package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/tidemark/tidemark/domain"
)

// logEvent is one event of the log as /v1/events shows it.
type logEvent struct {
	EventID       string          `json:"eventId"`
	Stream        string          `json:"stream"`
	StreamVersion int64           `json:"streamVersion"`
	Type          string          `json:"type"`
	Position      int64           `json:"position"`
	Cursor        string          `json:"cursor"`
	RecordedAt    string          `json:"recordedAt"`
	Metadata      domain.Metadata `json:"metadata"`
	Data          json.RawMessage `json:"data"`
}

// handleEvents pages through the log in commit order. `after` takes a
// cursor from a previous answer (or a bare position on SQLite).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !checkParams(w, q, map[string]bool{"after": true, "limit": true, "type": true, "stream": true}) {
		return
	}
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	after := domain.Start
	if v := q.Get("after"); v != "" {
		p, err := domain.ParsePosition(v)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "after is not a valid cursor")
			return
		}
		after = p
	}
	typ, stream := q.Get("type"), q.Get("stream")
	items := make([]logEvent, 0, limit)
	// Filters are applied while scanning; a page stops after a bounded scan
	// so a rare type cannot make one request read the whole log.
	const maxScanned = 20000
	scanned := 0
	last := after
	for len(items) < limit && scanned < maxScanned {
		batch, err := s.deps.Store.ReadAll(r.Context(), last, 1000)
		if err != nil {
			s.queryError(w, r, err)
			return
		}
		for _, e := range batch {
			scanned++
			last = e.Position
			if (typ == "" || e.Type == typ) && (stream == "" || e.Stream == stream) {
				items = append(items, toLogEvent(e))
				if len(items) == limit {
					break
				}
			}
		}
		if len(batch) < 1000 {
			break
		}
	}
	next := ""
	if last != after {
		next = last.String()
	}
	writeJSON(w, http.StatusOK, newPage(items, next))
}

func toLogEvent(e domain.Event) logEvent {
	return logEvent{EventID: e.ID, Stream: e.Stream, StreamVersion: e.StreamVersion, Type: e.Type,
		Position: e.Position.Seq, Cursor: e.Position.String(), RecordedAt: rfc3339(e.RecordedAt),
		Metadata: e.Metadata, Data: e.Data}
}

// EventFinder finds one event by id; the stores implement it.
type EventFinder interface {
	EventByID(ctx context.Context, id string) (domain.Event, error)
}

// handleEventRaw answers the original body bytes of an event.
func (s *Server) handleEventRaw(w http.ResponseWriter, r *http.Request) {
	finder, ok := s.deps.Store.(EventFinder)
	if !ok {
		writeProblem(w, http.StatusNotImplemented, "this event store cannot look events up by id")
		return
	}
	e, err := finder.EventByID(r.Context(), r.PathValue("eventId"))
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	ct := e.Metadata.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Tidemark-Event-Id", e.ID)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(e.Raw)
}

func sortByPosition(events []domain.Event) {
	sort.SliceStable(events, func(i, j int) bool { return events[i].Position.Less(events[j].Position) })
}

func rawJSON(b []byte) json.RawMessage { return json.RawMessage(b) }
