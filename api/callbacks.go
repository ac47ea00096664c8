package api

import (
	"context"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tidemark/tidemark/api/quarantine"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

// Callback sources, also the event metadata's source and the metrics label.
const (
	sourceCarwash = "carwash"
	sourceEnergy  = "energy"
)

func (s *Server) handleCarwash(w http.ResponseWriter, r *http.Request) {
	s.ingest(w, r, sourceCarwash)
}

func (s *Server) handleEnergy(w http.ResponseWriter, r *http.Request) {
	s.ingest(w, r, sourceEnergy)
}

// ingest is the whole callback path: limits, decode and check, then a
// durable append before the 200. Every rejection that carries a body worth
// keeping (400, 401, 422) is quarantined first; if even that fails, the
// platform gets a 503 so that its retry brings the callback back.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, source string) {
	start := time.Now()
	if s.limiter != nil {
		if ok, wait := s.limiter.take(); !ok {
			w.Header().Set("Retry-After", itoa(max(1, int64(math.Ceil(wait.Seconds())))))
			s.reject(w, source, "rate_limited", http.StatusTooManyRequests, "too many callbacks; retry later", start)
			return
		}
	}
	received := s.deps.Clock.Now()
	contentType := r.Header.Get("Content-Type")
	if !jsonContentType(contentType) {
		s.reject(w, source, "unsupported_media_type", http.StatusUnsupportedMediaType,
			"Content-Type must be application/json (or absent)", start)
		return
	}
	raw, err := readBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.reject(w, source, "too_large", http.StatusRequestEntityTooLarge,
				"body is larger than the limit of "+itoa(s.cfg.MaxBodyBytes)+" bytes", start)
			return
		}
		s.reject(w, source, "malformed", http.StatusBadRequest, "could not read the body: "+err.Error(), start)
		return
	}
	meta := domain.Metadata{
		Source:      source,
		ReceivedAt:  received,
		RemoteAddr:  s.remoteAddr(r),
		ContentType: contentType,
	}
	if source == sourceCarwash && s.cfg.CarwashToken != "" && !secretEqual(r.URL.Query().Get("token"), s.cfg.CarwashToken) {
		err = errBadToken
	}
	var acc domain.Accepted
	if err == nil {
		acc, meta.Signature, err = s.decode(source, raw)
	}
	if err != nil {
		status, outcome := callbackStatus(err)
		if qerr := s.quarantine(r.Context(), source, raw, r, meta, status, err); qerr != nil {
			s.log.Error("quarantine write failed; answering 503 so the platform retries", "source", source, "err", qerr)
			s.unavailable(w, source, start)
			return
		}
		s.reject(w, source, outcome, status, err.Error(), start)
		return
	}
	res, err := s.appendAccepted(r.Context(), acc, raw, meta)
	if errors.Is(err, domain.ErrInvalidEvent) {
		// The store refuses this event for good (e.g. a value over an index's
		// size limit): a retry cannot succeed, so it is a 422, quarantined.
		s.log.Warn("the store refused the event; answering 422", "source", source, "stream", acc.Stream, "err", err)
		if qerr := s.quarantine(r.Context(), source, raw, r, meta, http.StatusUnprocessableEntity, err); qerr != nil {
			s.log.Error("quarantine write failed; answering 503 so the platform retries", "source", source, "err", qerr)
			s.unavailable(w, source, start)
			return
		}
		s.reject(w, source, "invalid", http.StatusUnprocessableEntity, "the event store cannot keep this callback", start)
		return
	}
	if err != nil {
		s.log.Warn("append failed; answering 503", "source", source, "stream", acc.Stream, "err", err)
		s.unavailable(w, source, start)
		return
	}
	outcome := "stored"
	if res.AllDuplicates() {
		outcome = "duplicate"
	}
	s.metrics.observeCallback(source, outcome, start)
	writeSuccess(w)
}

// decode checks a body with the rules of its source. The car-wash platform
// signs nothing, so its verdict is always SignatureNone.
func (s *Server) decode(source string, raw []byte) (domain.Accepted, string, error) {
	if source == sourceCarwash {
		acc, err := carwash.Decode(raw)
		return acc, domain.SignatureNone, err
	}
	dec := energy.Decoder{Scheme: s.cfg.EnergyScheme, Secret: s.cfg.EnergySecret}
	return dec.Decode(raw)
}

func (s *Server) appendAccepted(ctx context.Context, acc domain.Accepted, raw []byte, meta domain.Metadata) (domain.AppendResult, error) {
	return s.deps.Appender.Append(ctx, domain.AppendRequest{
		Stream:   acc.Stream,
		Expected: domain.AnyVersion,
		Events: []domain.NewEvent{{
			ID: acc.ID, Type: acc.Type, Data: acc.Data, Raw: raw, Metadata: meta,
		}},
	})
}

// callbackStatus maps a decode error to its HTTP status and metrics outcome, in one place.
func callbackStatus(err error) (int, string) {
	switch {
	case errors.Is(err, domain.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, domain.ErrMalformed):
		return http.StatusBadRequest, "malformed"
	case errors.Is(err, domain.ErrInvalidCallback):
		return http.StatusUnprocessableEntity, "invalid"
	default:
		return http.StatusUnprocessableEntity, "invalid"
	}
}

func (s *Server) quarantine(ctx context.Context, source string, raw []byte, r *http.Request, meta domain.Metadata, status int, cause error) error {
	if s.deps.Quarantine == nil {
		return nil
	}
	e := &quarantine.Entry{
		Source:     source,
		ReceivedAt: meta.ReceivedAt,
		Status:     status,
		Reason:     cause.Error(),
		Field:      fieldOf(cause),
		Raw:        raw,
		Headers:    headersOfInterest(r),
		RemoteAddr: meta.RemoteAddr,
	}
	// The quarantine write must not be lost to a client that hung up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.deps.Quarantine.Add(ctx, e)
}

func (s *Server) reject(w http.ResponseWriter, source, outcome string, status int, msg string, start time.Time) {
	s.metrics.observeCallback(source, outcome, start)
	writeCallbackError(w, status, msg)
}

func (s *Server) unavailable(w http.ResponseWriter, source string, start time.Time) {
	s.metrics.observeCallback(source, "unavailable", start)
	w.Header().Set("Retry-After", itoa(int64(s.cfg.RetryAfter/time.Second)))
	writeCallbackError(w, http.StatusServiceUnavailable, "the event store cannot take writes now; retry later")
}

// tokenError is a wrong or missing ?token= on the car-wash URL.
type tokenError struct{}

func (tokenError) Error() string { return "token query parameter is missing or wrong" }
func (tokenError) Unwrap() error { return domain.ErrUnauthorized }

var errBadToken error = tokenError{}

// fieldOf names the field a rejection is about, for the quarantine.
func fieldOf(err error) string {
	var ve *domain.ValidationError
	var se *energy.SignatureError
	switch {
	case errors.As(err, &ve):
		return ve.Field
	case errors.As(err, &se):
		return se.Field
	case errors.Is(err, errBadToken):
		return "token"
	}
	return ""
}

// readBody is io.ReadAll with a first buffer the size the request
// announces (and one byte more for the EOF), so a callback's body is read
// without growing and copying the buffer.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := int64(512) // io.ReadAll's
	if contentLength > 0 {
		size = min(contentLength, limit) + 1
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the next capacity
		}
	}
}

// jsonContentType accepts an absent type, application/json, text/json and any +json type.
func jsonContentType(ct string) bool {
	if ct == "application/json" { // the usual case, without parsing
		return true
	}
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func headersOfInterest(r *http.Request) map[string]string {
	h := map[string]string{}
	for _, k := range []string{"Content-Type", "User-Agent", "X-Forwarded-For", "X-Real-Ip"} {
		if v := r.Header.Get(k); v != "" {
			h[k] = v
		}
	}
	return h
}

func (s *Server) remoteAddr(r *http.Request) string {
	if s.cfg.TrustProxyAddr {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	return r.RemoteAddr
}
