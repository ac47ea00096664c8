package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
	"github.com/tidemark/tidemark/domain/simulate"
)

// relLog is the event log as the store holds it, read by the test itself.
type relLog struct {
	events []domain.Event // in commit order
	ids    map[string]int // event id → copies in the log (1, or a bug)
}

// readRelLog opens the database the way serve does (it may be serving at
// the same time) and reads the whole log in commit order.
func readRelLog(t *testing.T, dbURL string) relLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := openStorage(ctx, dbURL, 50*time.Millisecond, domain.SystemClock{})
	if err != nil {
		t.Fatalf("open the store to check it: %v", err)
	}
	defer st.Close()
	l := relLog{ids: map[string]int{}}
	pos := domain.Start
	for {
		batch, err := st.Events.ReadAll(ctx, pos, 2000)
		if err != nil {
			t.Fatalf("read the log after %s: %v", pos, err)
		}
		if len(batch) == 0 {
			return l
		}
		for _, e := range batch {
			l.events = append(l.events, e)
			l.ids[e.ID]++
		}
		pos = batch[len(batch)-1].Position
	}
}

// checkLogHolds fails the test for every acknowledged event the log lacks
// (a callback answered 200 and lost) and for any event stored twice.
func checkLogHolds(t *testing.T, l relLog, acked map[string]bool, when string) {
	t.Helper()
	var lost []string
	for id := range acked {
		if l.ids[id] == 0 {
			lost = append(lost, id)
		}
	}
	slices.Sort(lost)
	if len(lost) > 0 {
		t.Fatalf("%s: %d of %d callbacks answered 200 are not in the store (lost), e.g. %v",
			when, len(lost), len(acked), lost[:min(5, len(lost))])
	}
	for id, n := range l.ids {
		if n > 1 {
			t.Errorf("%s: event %s is stored %d times", when, id, n)
		}
	}
}

// checkLogIsExactly fails unless the log holds exactly the distinct events
// handed out: none missing, none extra.
func checkLogIsExactly(t *testing.T, l relLog, feed *relFeed) {
	t.Helper()
	want := map[string]bool{}
	for _, d := range feed.distinct() {
		want[d.ID] = true
	}
	var missing, extra []string
	for id := range want {
		if l.ids[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id := range l.ids {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("log holds %d events; sent %d distinct: %d missing %v, %d never sent %v",
			len(l.ids), len(want), len(missing), missing[:min(5, len(missing))], len(extra), extra[:min(5, len(extra))])
	}
}

// relModels are the read models a full rebuild makes of a log: every
// device and order folded from scratch by the domain folds, the same ones
// the projections use, over the events in commit order.
type relModels struct {
	devices map[int64][]byte    // JSON of carwash.Device
	orders  map[string][]byte   // JSON of energy.Order
	ledger  map[string][]string // order → event ids of its charged callbacks, sorted
}

func foldModels(t *testing.T, l relLog) relModels {
	t.Helper()
	devEvents := map[int64][]domain.Event{}
	ordEvents := map[string][]domain.Event{}
	m := relModels{devices: map[int64][]byte{}, orders: map[string][]byte{}, ledger: map[string][]string{}}
	for _, e := range l.events {
		switch {
		case strings.HasPrefix(e.Type, carwash.TypePrefix):
			ids, err := carwash.Affected(e)
			if err != nil {
				t.Fatalf("stored event %s: %v", e.ID, err)
			}
			for _, id := range ids {
				devEvents[id] = append(devEvents[id], e)
			}
		case e.Type == energy.EventType:
			id := strings.TrimPrefix(e.Stream, energy.StreamPrefix)
			ordEvents[id] = append(ordEvents[id], e)
			le, charged, err := energy.LedgerEntryOf(e)
			if err != nil {
				t.Fatalf("stored event %s: %v", e.ID, err)
			}
			if charged {
				m.ledger[id] = append(m.ledger[id], le.EventID)
			}
		default:
			t.Fatalf("stored event %s has an unknown type %q", e.ID, e.Type)
		}
	}
	for id, evs := range devEvents {
		s, err := carwash.Fold(id, evs)
		if err != nil {
			t.Fatalf("fold device %d: %v", id, err)
		}
		d := s.Device
		d.IotID = id
		m.devices[id] = mustJSON(t, d)
	}
	for id, evs := range ordEvents {
		s, err := energy.Fold(evs)
		if err != nil {
			t.Fatalf("fold order %s: %v", id, err)
		}
		m.orders[id] = mustJSON(t, s.Order)
	}
	for id := range m.ledger {
		slices.Sort(m.ledger[id])
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return b
}

// relAPI reads the read models a serve process answers with.
type relAPI struct {
	base   string
	client *http.Client
}

func newRelAPI(base string) relAPI { return relAPI{base: base, client: relClient(4)} }

// get fetches path and decodes a 200 answer into v.
func (a relAPI) get(path string, v any) (int, error) {
	resp, err := a.client.Get(a.base + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(b))
	}
	// Strict, so a field the API adds or renames shows (wrap v in
	// loose to read only some fields).
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return resp.StatusCode, nil
}

// mismatches lists how the API's read models differ from m: each device and
// order field by field, each order's ledger, and the lists' sizes.
func (m relModels) mismatches(api relAPI) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(m.devices)) {
		var d carwash.Device
		if _, err := api.get("/v1/devices/"+strconv.FormatInt(id, 10), &d); err != nil {
			out = append(out, fmt.Sprintf("device %d: %v", id, err))
			continue
		}
		got, _ := json.Marshal(d)
		if diff := jsonDiff(got, m.devices[id]); diff != "" {
			out = append(out, fmt.Sprintf("device %d: %s", id, diff))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(m.orders)) {
		var o energy.Order
		if _, err := api.get("/v1/orders/"+url.PathEscape(id), &o); err != nil {
			out = append(out, fmt.Sprintf("order %s: %v", id, err))
			continue
		}
		got, _ := json.Marshal(o)
		if diff := jsonDiff(got, m.orders[id]); diff != "" {
			out = append(out, fmt.Sprintf("order %s: %s", id, diff))
		}
		var ledger struct {
			Items []struct {
				EventID string `json:"eventId"`
			} `json:"items"`
		}
		if _, err := api.get("/v1/orders/"+url.PathEscape(id)+"/ledger", &loose{&ledger}); err != nil {
			out = append(out, fmt.Sprintf("order %s ledger: %v", id, err))
			continue
		}
		var ids []string
		for _, it := range ledger.Items {
			ids = append(ids, it.EventID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, m.ledger[id]) {
			out = append(out, fmt.Sprintf("order %s ledger: event ids %v, want %v", id, ids, m.ledger[id]))
		}
	}
	if n, err := api.count("/v1/devices"); err != nil || n != len(m.devices) {
		out = append(out, fmt.Sprintf("GET /v1/devices lists %d devices (%v), want %d", n, err, len(m.devices)))
	}
	if n, err := api.count("/v1/orders"); err != nil || n != len(m.orders) {
		out = append(out, fmt.Sprintf("GET /v1/orders lists %d orders (%v), want %d", n, err, len(m.orders)))
	}
	return out
}

// loose decodes into v ignoring the fields v does not have.
type loose struct{ v any }

func (l *loose) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, l.v) }

// count pages through a list endpoint and returns how many items it has.
func (a relAPI) count(path string) (int, error) {
	n, cursor := 0, ""
	for range 1000 {
		var p struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor *string           `json:"nextCursor"`
		}
		q := path + "?limit=1000"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if _, err := a.get(q, &loose{&p}); err != nil {
			return n, err
		}
		n += len(p.Items)
		if p.NextCursor == nil || *p.NextCursor == "" {
			return n, nil
		}
		cursor = *p.NextCursor
	}
	return n, fmt.Errorf("GET %s: more than 1000 pages", path)
}

// jsonDiff names the top-level fields in which two JSON objects differ.
func jsonDiff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	var g, w map[string]any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if !reflect.DeepEqual(g[k], w[k]) {
			gb, _ := json.Marshal(g[k])
			wb, _ := json.Marshal(w[k])
			parts = append(parts, fmt.Sprintf("%s = %s, want %s", k, gb, wb))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			parts = append(parts, "unexpected field "+k)
		}
	}
	return strings.Join(parts, "; ")
}

// truthMismatches compares the API with the simulator's own model of what
// it sent (independent of the folds), after every event it made is stored.
func truthMismatches(api relAPI, truth simulate.Truth) []string {
	var out []string
	for _, want := range truth.Devices {
		var got simulate.DeviceTruth
		if _, err := api.get("/v1/devices/"+strconv.FormatInt(want.IotID, 10), &loose{&got}); err != nil {
			out = append(out, fmt.Sprintf("device %d: %v", want.IotID, err))
			continue
		}
		if !reflect.DeepEqual(got, want) {
			out = append(out, fmt.Sprintf("device %d: %s", want.IotID, jsonDiff(mustMarshal(got), mustMarshal(want))))
		}
	}
	for _, want := range truth.Orders {
		want.AnomalyTypes = nil // reconciliation's, not the order object's
		var got simulate.OrderTruth
		if _, err := api.get("/v1/orders/"+url.PathEscape(want.OrderID), &loose{&got}); err != nil {
			out = append(out, fmt.Sprintf("order %s: %v", want.OrderID, err))
			continue
		}
		if !reflect.DeepEqual(got, want) {
			out = append(out, fmt.Sprintf("order %s: %s", want.OrderID, jsonDiff(mustMarshal(got), mustMarshal(want))))
		}
	}
	return out
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// versionMismatches checks, for every device, that version and eventCount
// equal the number of distinct callbacks sent that name it: an event
// skipped or applied twice shows here. counts come from the deliveries,
// not from the store.
func versionMismatches(api relAPI, counts map[int64]int64) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		var d carwash.Device
		if _, err := api.get("/v1/devices/"+strconv.FormatInt(id, 10), &d); err != nil {
			out = append(out, fmt.Sprintf("device %d: %v", id, err))
			continue
		}
		if d.Version != counts[id] || d.EventCount != counts[id] {
			out = append(out, fmt.Sprintf("device %d: version %d, eventCount %d; %d distinct events name it",
				id, d.Version, d.EventCount, counts[id]))
		}
	}
	return out
}

// deviceEventCounts counts the distinct car-wash callbacks handed out per device.
func deviceEventCounts(t *testing.T, feed *relFeed) map[int64]int64 {
	t.Helper()
	counts := map[int64]int64{}
	for _, d := range feed.distinct() {
		if d.Source != simulate.SourceCarwash {
			continue
		}
		c, err := carwash.ParseCallback(d.Body)
		if err != nil {
			t.Fatalf("simulated car-wash body: %v", err)
		}
		for _, id := range c.Devices() {
			counts[id]++
		}
	}
	return counts
}

// eventually polls check until it reports nothing or d passes, then fails
// the test with what it still reports.
func eventually(t *testing.T, what string, d time.Duration, check func() []string) {
	t.Helper()
	start := time.Now()
	var last []string
	for {
		last = check()
		if len(last) == 0 {
			t.Logf("%s: agreed after %s", what, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > d {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("%s: %d differences after %s, e.g.:\n  %s", what, len(last), d, strings.Join(last[:min(10, len(last))], "\n  "))
}

// relProjection is a projection as GET /v1/projections shows it.
type relProjection struct {
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	Leader    bool    `json:"leader"`
	Cursor    string  `json:"cursor"` // the position as txid.seq
	LastError *string `json:"lastError"`
}

// projections reads GET /v1/projections.
func (a relAPI) projections() ([]relProjection, error) {
	var p struct {
		Items []relProjection `json:"items"`
	}
	_, err := a.get("/v1/projections", &loose{&p})
	return p.Items, err
}

// counters reads the Prometheus counter name from GET /metrics, by the
// value of its projection label.
func (a relAPI) counters(name string) (map[string]float64, error) {
	resp, err := a.client.Get(a.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return nil, fmt.Errorf("metrics line %q", line)
		}
		_, proj, _ := strings.Cut(labels, `projection="`)
		proj, _, _ = strings.Cut(proj, `"`)
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[proj] += v
	}
	return out, nil
}
