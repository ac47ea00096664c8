package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tidemark/tidemark/domain"
)

type quarantineList struct {
	Items      []quarantineItem `json:"items"`
	NextCursor *string          `json:"nextCursor"`
}

type quarantineItem struct {
	ID           int64             `json:"id"`
	Source       string            `json:"source"`
	ReceivedAt   string            `json:"receivedAt" format:"date-time"`
	Status       int               `json:"status"`
	Reason       string            `json:"reason"`
	Field        string            `json:"field,omitempty"`
	Body         string            `json:"body"`
	Headers      map[string]string `json:"headers"`
	RemoteAddr   string            `json:"remoteAddr,omitempty"`
	ReadmittedAt *string           `json:"readmittedAt" format:"date-time"`
	EventID      string            `json:"eventId,omitempty"`
}

// handleQuarantineList lists entries newest first; the cursor is the last id seen.
func (s *Server) handleQuarantineList(w http.ResponseWriter, r *http.Request) {
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	var before int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			writeProblem(w, http.StatusBadRequest, "cursor is not valid")
			return
		}
		before = n
	}
	entries, err := s.deps.Quarantine.List(r.Context(), before, limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	out := quarantineList{Items: make([]quarantineItem, 0, len(entries))}
	for _, e := range entries {
		it := quarantineItem{ID: e.ID, Source: e.Source, ReceivedAt: rfc3339(e.ReceivedAt), Status: e.Status,
			Reason: e.Reason, Field: e.Field, Body: string(e.Raw), Headers: e.Headers, RemoteAddr: e.RemoteAddr, EventID: e.EventID}
		if e.ReadmittedAt != nil {
			t := rfc3339(*e.ReadmittedAt)
			it.ReadmittedAt = &t
		}
		out.Items = append(out.Items, it)
	}
	if len(entries) == limit {
		c := strconv.FormatInt(entries[len(entries)-1].ID, 10)
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
}

// handleQuarantineReadmit re-checks an entry with the current rules and
// secrets and appends it when it passes. An admin vouches for the car-wash
// token, so it is not asked again; the energy signature is re-checked.
func (s *Server) handleQuarantineReadmit(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeProblem(w, http.StatusBadRequest, "id must be a positive integer")
		return
	}
	e, err := s.deps.Quarantine.Get(r.Context(), id)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	acc, verdict, err := s.decode(e.Source, e.Raw)
	if err != nil {
		// The admin is authenticated; what fails is the entry (even a bad
		// signature, which was a 401 to the platform), so 422, and the
		// entry stays in quarantine as it was.
		writeProblem(w, http.StatusUnprocessableEntity, "still rejected: "+err.Error())
		return
	}
	meta := domain.Metadata{Source: e.Source, ReceivedAt: e.ReceivedAt, RemoteAddr: e.RemoteAddr,
		ContentType: e.Headers["Content-Type"], Signature: verdict, Readmitted: e.ID}
	res, err := s.appendAccepted(r.Context(), acc, e.Raw, meta)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	if err := s.deps.Quarantine.MarkReadmitted(r.Context(), id, acc.ID, s.deps.Clock.Now()); err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, readmitAnswer{ID: id, EventID: acc.ID, Stream: acc.Stream,
		Duplicate: res.AllDuplicates(), Position: res.Positions[0].Seq})
}

// queryError maps a domain error to a problem answer, in one place for the query surface.
func (s *Server) queryError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, domain.ErrInvalidPosition):
		writeProblem(w, http.StatusBadRequest, err.Error())
	case isBadRequest(err):
		writeProblem(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, domain.ErrUnavailable):
		w.Header().Set("Retry-After", itoa(int64(s.cfg.RetryAfter.Seconds())))
		writeProblem(w, http.StatusServiceUnavailable, "the store is unavailable")
	default:
		s.internalError(w, r, "query failed", err)
	}
}

// badRequest is a request the API itself finds wrong only once it has read
// the store (see errAfterNeedsCursor): a 400 whose detail is its text.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func isBadRequest(err error) bool {
	_, ok := errors.AsType[badRequest](err)
	return ok
}

// internalError logs err and answers a 500 whose detail never carries the
// error's text (it may name hosts, tables or data): the log has it.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, msg string, err error) {
	s.log.Error(msg, "route", r.Pattern, "err", err)
	writeProblem(w, http.StatusInternalServerError, "internal error")
}
