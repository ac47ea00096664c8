package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// maxStatementBytes limits an uploaded statement (413 above).
const maxStatementBytes = 10 << 20

// scanBatch is how many events one ReadAll of the billing scan asks for.
const scanBatch = 1000

var (
	fromParam   = param{name: "from", in: "query", typ: "string", desc: "RFC 3339 receive time, inclusive (default: the beginning)"}
	toParam     = param{name: "to", in: "query", typ: "string", desc: "RFC 3339 receive time, exclusive (default: now)"}
	formatParam = param{name: "format", in: "query", typ: "string", desc: "json (default) or csv"}
)

// billingRoutes are the billing endpoints, for routeTable. Both only read:
// a statement upload is compared and answered, never stored.
func billingRoutes() []route {
	params := []param{fromParam, toParam, formatParam}
	return []route{
		{"GET", "/v1/billing/reconciliation", authRead, (*Server).handleReconciliation, opDoc{
			summary: "Per-order totals and anomalies over a receive-time window (JSON, or CSV with format=csv)",
			params:  params, response: typeOf[billing.Report](), errors: []int{400, 401, 422, 500, 503}}},
		{"POST", "/v1/billing/statements", authRead, (*Server).handleStatements, opDoc{
			summary: "Compare a platform statement CSV (orderId,hash,amountSun[,time]) with the ledger",
			params:  params, body: "text/csv", response: typeOf[billing.Comparison](),
			errors: []int{400, 401, 413, 415, 422, 500, 503}}},
	}
}

// handleReconciliation answers the reconciliation report of a receive-time
// window, built from one scan of the event log.
func (s *Server) handleReconciliation(w http.ResponseWriter, r *http.Request) {
	from, to, format, ok := billingParams(w, r.URL.Query())
	if !ok {
		return
	}
	b := billing.NewReport(from, to)
	if err := s.scanLog(r.Context(), b.Add); err != nil {
		s.billingError(w, r, err)
		return
	}
	rep := b.Report()
	if format == "csv" {
		s.writeCSV(w, r, "reconciliation.csv", rep.WriteCSV)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// handleStatements compares an uploaded statement with the ledger entries
// of the window. Malformed rows are listed in the answer (rowErrors) and
// the rest is compared; a statement with no readable header is a 422.
func (s *Server) handleStatements(w http.ResponseWriter, r *http.Request) {
	from, to, format, ok := billingParams(w, r.URL.Query())
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
			writeProblem(w, http.StatusUnsupportedMediaType, "Content-Type must be text/csv (or absent)")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatementBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "a statement is limited to "+itoa(maxStatementBytes)+" bytes")
			return
		}
		writeProblem(w, http.StatusBadRequest, "could not read the body: "+err.Error())
		return
	}
	st, rowErrs := billing.ParseStatement(bytes.NewReader(body))
	if !st.Readable() {
		detail := "the statement has no header row orderId,hash,amountSun[,time], and its first row is not data in that order"
		if len(rowErrs) > 0 {
			detail = rowErrs[0].Error()
		}
		writeProblem(w, http.StatusUnprocessableEntity, detail)
		return
	}
	ledger := billing.NewLedger(from, to)
	if err := s.scanLog(r.Context(), ledger.Add); err != nil {
		s.billingError(w, r, err)
		return
	}
	cmp, err := billing.Compare(st, ledger.Entries(), from, to)
	if err != nil {
		s.billingError(w, r, foldError{err})
		return
	}
	if format == "csv" {
		s.writeCSV(w, r, "statement-comparison.csv", cmp.WriteCSV)
		return
	}
	writeJSON(w, http.StatusOK, cmp)
}

// billingParams reads from, to (RFC 3339, optional, from before to) and
// format (json or csv); it answers 400 itself when one is wrong.
func billingParams(w http.ResponseWriter, q url.Values) (from, to *time.Time, format string, ok bool) {
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, ok := parseTime(w, p.name, v)
			if !ok {
				return nil, nil, "", false
			}
			*p.dst = &t
		}
	}
	if from != nil && to != nil && !from.Before(*to) {
		writeProblem(w, http.StatusBadRequest, "from must be before to")
		return nil, nil, "", false
	}
	switch format = strings.ToLower(q.Get("format")); format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		writeProblem(w, http.StatusBadRequest, "format must be json or csv")
		return nil, nil, "", false
	}
	return from, to, format, true
}

// foldError marks an error of the billing fold (an unreadable event, a sum
// beyond int64), as opposed to one of the store.
type foldError struct{ err error }

func (e foldError) Error() string { return e.err.Error() }
func (e foldError) Unwrap() error { return e.err }

// scanLog feeds every event of the log, up to the head at the start of the
// scan, to apply, in commit order: one consistent snapshot even while
// callbacks keep arriving.
func (s *Server) scanLog(ctx context.Context, apply func(domain.Event) error) error {
	head, err := s.deps.Store.Head(ctx)
	if err != nil {
		return err
	}
	after := domain.Start
	for after.Less(head) {
		batch, err := s.deps.Store.ReadAll(ctx, after, scanBatch)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, e := range batch {
			if head.Less(e.Position) {
				return nil
			}
			if err := apply(e); err != nil {
				return foldError{err}
			}
			after = e.Position
		}
	}
	return nil
}

// billingError answers a failed scan or comparison, in one place: sums
// beyond int64 are a 422 (a narrower window fits), the store's errors are
// answered as every query's, and any other fold error is a 500 whose
// event is named in the log (the report is exact or not given).
func (s *Server) billingError(w http.ResponseWriter, r *http.Request, err error) {
	var fe foldError
	switch {
	case errors.Is(err, energy.ErrOverflow): // billing.ErrOverflow wraps it; an order's own sum is energy's
		writeProblem(w, http.StatusUnprocessableEntity,
			"the window's sums exceed int64 sun; narrow it with from and to")
	case errors.As(err, &fe):
		s.internalError(w, r, "billing: the event log cannot be reconciled", err)
	default:
		s.queryError(w, r, err)
	}
}

// writeCSV renders a CSV answer as an attachment; it is built in memory
// first so that a failure can still be answered as a problem.
func (s *Server) writeCSV(w http.ResponseWriter, r *http.Request, filename string, render func(io.Writer) error) {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		s.internalError(w, r, "billing: could not render the CSV", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
