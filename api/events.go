package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/google/uuid"

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
	RecordedAt    string          `json:"recordedAt" format:"date-time"`
	Metadata      domain.Metadata `json:"metadata"`
	Data          json.RawMessage `json:"data"`
}

// handleEvents pages through the log in commit order, after the event
// whose cursor `after` gives.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	after, bare, ok := parseAfter(w, q.Get("after"))
	if !ok {
		return
	}
	items, next, err := s.readLog(r.Context(), after, bare, q.Get("type"), q.Get("stream"), limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(items, next))
}

// errAfterNeedsCursor answers a bare position where positions carry a
// transaction id (PostgreSQL's txid.seq, KurrentDB's commit.prepare): read
// as {0, n} it would sort before every event and silently restart the log,
// and no store port finds the event of a bare sequence number.
var errAfterNeedsCursor = badRequest("after takes an event's cursor (see nextCursor / the event's cursor field)")

// parseAfter reads ?after=: an event's cursor ("txid.seq"). A bare integer,
// an event's `position`, is also taken (bare is then true); readLog refuses
// it where positions carry a transaction id. 0 is the start of the log on
// every store. It answers 400 itself when v is no position at all.
func parseAfter(w http.ResponseWriter, v string) (after domain.Position, bare, ok bool) {
	if v == "" {
		return domain.Start, false, true
	}
	p, err := domain.ParsePosition(v)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "after is not a valid cursor")
		return domain.Start, false, false
	}
	return p, !strings.Contains(v, ".") && p != domain.Start, true
}

// readLog collects up to limit events after `after` whose type and stream
// match the filters ("" matches all), and the cursor to go on from: ""
// when the log holds nothing more now, as on every list. Filters are
// applied while scanning, and a page stops after a bounded scan so that a
// rare type cannot make one request read the whole log; its cursor then
// resumes the scan.
func (s *Server) readLog(ctx context.Context, after domain.Position, bare bool, typ, stream string, limit int) ([]logEvent, string, error) {
	const batchSize, maxScanned = 1000, 20000
	items := make([]logEvent, 0, limit)
	last := after
	for scanned := 0; scanned < maxScanned; {
		batch, err := s.deps.Store.ReadAll(ctx, last, batchSize)
		if err != nil {
			return nil, "", err
		}
		// On such a store every event has a transaction id, so the first one tells.
		if bare && len(batch) > 0 && batch[0].Position.TxID != 0 {
			return nil, "", errAfterNeedsCursor
		}
		for _, e := range batch {
			if (typ == "" || e.Type == typ) && (stream == "" || e.Stream == stream) {
				if len(items) == limit { // a match beyond the page: there is a next one
					return items, items[limit-1].Cursor, nil
				}
				items = append(items, toLogEvent(e))
			}
			last = e.Position
			scanned++
		}
		if len(batch) < batchSize {
			return items, "", nil // the end of the log, for now
		}
	}
	return items, last.String(), nil
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
	id := r.PathValue("eventId")
	if u, err := uuid.Parse(id); err == nil {
		id = u.String() // event ids are UUIDs, stored in lowercase: accept either case
	}
	e, err := finder.EventByID(r.Context(), id)
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
