package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/projections"
)

// ReadModels is the read side of the projections the query endpoints serve
// (implemented by *projections.Reader).
type ReadModels interface {
	Device(ctx context.Context, iotID int64) (carwash.Device, error)
	Devices(ctx context.Context, f projections.DeviceFilter, cursor string, limit int) ([]carwash.Device, string, error)
	Order(ctx context.Context, orderID string) (energy.Order, error)
	Orders(ctx context.Context, f projections.OrderFilter, cursor string, limit int) ([]energy.Order, string, error)
	Ledger(ctx context.Context, orderID string) ([]energy.LedgerEntry, error)
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func newPage[T any](items []T, next string) page[T] {
	p := page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	f := projections.DeviceFilter{MachineType: q.Get("machineType"), ErrorStatus: q.Get("errorStatus"), Parking: q.Get("parking")}
	if v := q.Get("online"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "online must be true or false")
			return
		}
		f.Online = &b
	}
	items, next, err := s.deps.ReadModels.Devices(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(items, next))
}

func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) {
	iotID, ok := parseIotID(w, r)
	if !ok {
		return
	}
	if v := r.URL.Query().Get("asOf"); v != "" {
		asOf, ok := parseTime(w, "asOf", v)
		if !ok {
			return
		}
		st, err := s.deviceAsOf(r.Context(), iotID, asOf)
		if err != nil {
			s.queryError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st.Device)
		return
	}
	d, err := s.deps.ReadModels.Device(r.Context(), iotID)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// deviceEvent is one event of a device, as /v1/devices/{iotId}/events shows it.
type deviceEvent struct {
	EventID    string `json:"eventId"`
	Position   int64  `json:"position"`
	Type       string `json:"type"`
	CallTime   int64  `json:"callTime"`
	RecordedAt string `json:"recordedAt" format:"date-time"`
	Data       any    `json:"data"`
}

// handleDeviceEvents pages through a device's events. They are gathered
// from two streams (see deviceEvents), so the page is cut from the whole
// list, after the cursor's position.
func (s *Server) handleDeviceEvents(w http.ResponseWriter, r *http.Request) {
	iotID, ok := parseIotID(w, r)
	if !ok {
		return
	}
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	events, err := s.deviceEvents(r.Context(), iotID, time.Time{})
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	if len(events) == 0 {
		s.queryError(w, r, fmt.Errorf("device %d: %w", iotID, domain.ErrNotFound))
		return
	}
	events, next, err := pageAfter(events, func(e domain.Event) domain.Position { return e.Position },
		cursorDeviceEvents, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	out := make([]deviceEvent, 0, len(events))
	for _, e := range events {
		cb, _ := carwash.ParseCallback(e.Data)
		out = append(out, deviceEvent{EventID: e.ID, Position: e.Position.Seq, Type: e.Type, CallTime: cb.CallTime,
			RecordedAt: rfc3339(e.RecordedAt), Data: rawJSON(e.Data)})
	}
	writeJSON(w, http.StatusOK, newPage(out, next))
}

func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	f := projections.OrderFilter{ReceiveAddress: q.Get("receiveAddress")}
	if v := q.Get("state"); v != "" {
		code, ok := stateCode(v)
		if !ok {
			writeProblem(w, http.StatusBadRequest, "state must be stopped, delegating, deleted or 0, 1, 2")
			return
		}
		f.State = &code
	}
	items, next, err := s.deps.ReadModels.Orders(r.Context(), f, q.Get("cursor"), limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newPage(items, next))
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("orderId")
	if v := r.URL.Query().Get("asOf"); v != "" {
		asOf, ok := parseTime(w, "asOf", v)
		if !ok {
			return
		}
		events, err := s.streamUntil(r.Context(), "energy.order-"+id, asOf)
		if err != nil {
			s.queryError(w, r, err)
			return
		}
		if len(events) == 0 {
			s.queryError(w, r, fmt.Errorf("order %q as of %s: %w", id, v, domain.ErrNotFound))
			return
		}
		st, err := energy.Fold(events)
		if err != nil {
			s.queryError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st.Order)
		return
	}
	o, err := s.deps.ReadModels.Order(r.Context(), id)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// ledgerEntry is api.md's ledger row.
type ledgerEntry struct {
	Position          int64  `json:"position"`
	EventID           string `json:"eventId"`
	RecordedAt        string `json:"recordedAt" format:"date-time"`
	TotalDelegateNums int64  `json:"totalDelegateNums"`
	Hash              string `json:"hash"`
	EnergyNums        int64  `json:"energyNums"`
	OrderMoneySun     int64  `json:"orderMoneySun"`
	OrderMoneyTrx     string `json:"orderMoneyTrx"`
	Recharge          int64  `json:"recharge"`
}

// handleOrderLedger pages through an order's ledger entries, in log order.
func (s *Server) handleOrderLedger(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("orderId")
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	if _, err := s.deps.ReadModels.Order(r.Context(), id); err != nil {
		s.queryError(w, r, err)
		return
	}
	entries, err := s.deps.ReadModels.Ledger(r.Context(), id)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	entries, next, err := pageAfter(entries, func(e energy.LedgerEntry) domain.Position { return e.Position },
		cursorLedger, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	out := make([]ledgerEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, ledgerEntry{Position: e.Position.Seq, EventID: e.EventID, RecordedAt: rfc3339(e.RecordedAt),
			TotalDelegateNums: e.TotalDelegateNums, Hash: e.Hash, EnergyNums: e.EnergyNums,
			OrderMoneySun: e.OrderMoneySun, OrderMoneyTrx: energy.FormatTrx(e.OrderMoneySun), Recharge: e.Recharge})
	}
	writeJSON(w, http.StatusOK, newPage(out, next))
}

// deviceAsOf folds a device's events received up to asOf.
func (s *Server) deviceAsOf(ctx context.Context, iotID int64, asOf time.Time) (carwash.DeviceState, error) {
	events, err := s.deviceEvents(ctx, iotID, asOf)
	if err != nil {
		return carwash.DeviceState{}, err
	}
	st, err := carwash.Fold(iotID, events)
	if err == nil && st.Device.Version == 0 { // no event, or only ones the read model skips
		err = fmt.Errorf("device %d as of %s: %w", iotID, asOf.Format(time.RFC3339), domain.ErrNotFound)
	}
	return st, err
}

// deviceEvents returns a device's events in log order: its own stream plus
// the fleet status callbacks that name it. until zero means all.
func (s *Server) deviceEvents(ctx context.Context, iotID int64, until time.Time) ([]domain.Event, error) {
	own, err := s.streamUntil(ctx, "carwash.device-"+strconv.FormatInt(iotID, 10), until)
	if err != nil {
		return nil, err
	}
	fleet, err := s.streamUntil(ctx, "carwash.fleet", until)
	if err != nil {
		return nil, err
	}
	for _, e := range fleet {
		ids, err := carwash.Affected(e)
		if err != nil {
			continue
		}
		for _, id := range ids {
			if id == iotID {
				own = append(own, e)
				break
			}
		}
	}
	sortByPosition(own)
	return own, nil
}

// streamUntil reads a whole stream, keeping events received up to until (zero: all).
func (s *Server) streamUntil(ctx context.Context, stream string, until time.Time) ([]domain.Event, error) {
	var out []domain.Event
	var after int64
	for {
		batch, err := s.deps.Store.ReadStream(ctx, stream, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, e := range batch {
			if until.IsZero() || !receivedAt(e).After(until) {
				out = append(out, e)
			}
		}
		if len(batch) < 1000 {
			return out, nil
		}
		after = batch[len(batch)-1].StreamVersion
	}
}

// receivedAt is when Tidemark received an event: the metadata's time, else the commit time.
func receivedAt(e domain.Event) time.Time {
	if !e.Metadata.ReceivedAt.IsZero() {
		return e.Metadata.ReceivedAt
	}
	return e.RecordedAt
}

func parseIotID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("iotId"), 10, 64)
	if err != nil || id <= 0 {
		writeProblem(w, http.StatusBadRequest, "iotId must be a positive integer")
		return 0, false
	}
	return id, true
}

func parseTime(w http.ResponseWriter, name, v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, name+" must be an RFC 3339 time, e.g. 2026-11-22T10:00:00Z")
		return time.Time{}, false
	}
	return t, true
}

func stateCode(v string) (int64, bool) {
	switch strings.ToLower(v) {
	case "stopped", "0":
		return 0, true
	case "delegating", "1":
		return 1, true
	case "deleted", "2":
		return 2, true
	}
	return 0, false
}
