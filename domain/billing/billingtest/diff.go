package billingtest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/energy"
)

// maxDiffs bounds the differences a Diff function lists.
const maxDiffs = 20

// Events returns the month as an event log: the deliveries decoded by the
// real energy decoder, in delivery order, received at their time and
// recorded a millisecond later. With retries false each event appears once,
// as a store keeps it; with retries true every re-send is there too.
func (m *Month) Events(retries bool) ([]domain.Event, error) {
	var out []domain.Event
	for i, d := range m.Deliveries {
		if d.Retry && !retries {
			continue
		}
		acc, verdict, err := energy.Decoder{}.Decode(d.Body)
		if err != nil {
			return nil, fmt.Errorf("delivery %d: %w", i, err)
		}
		out = append(out, domain.Event{ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data, Raw: d.Body,
			Metadata:   domain.Metadata{Source: acc.Source, ReceivedAt: d.At, Signature: verdict},
			RecordedAt: d.At.Add(time.Millisecond), Position: domain.Position{Seq: int64(i + 1)}})
	}
	return out, nil
}

// DiffReport lists how got differs from want (nothing when equal).
func DiffReport(got, want billing.Report) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < maxDiffs {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	if !sameTime(got.From, want.From) || !sameTime(got.To, want.To) {
		add("window: got [%v, %v), want [%v, %v)", got.From, got.To, want.From, want.To)
	}
	if len(got.Orders) != len(want.Orders) {
		add("orders: got %d, want %d", len(got.Orders), len(want.Orders))
	}
	for i := range min(len(got.Orders), len(want.Orders)) {
		if g, w := got.Orders[i], want.Orders[i]; !reflect.DeepEqual(g, w) {
			add("order %d:\n got  %s\n want %s", i, jsonOf(g), jsonOf(w))
		}
	}
	if !reflect.DeepEqual(got.Totals, want.Totals) {
		add("totals:\n got  %s\n want %s", jsonOf(got.Totals), jsonOf(want.Totals))
	}
	return out
}

// DiffComparison lists how got differs from want (nothing when equal).
// Row errors are compared by line and column; their reason must be given.
func DiffComparison(got, want billing.Comparison) []string {
	var out []string
	add := func(format string, args ...any) {
		if len(out) < maxDiffs {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	if !sameTime(got.From, want.From) || !sameTime(got.To, want.To) {
		add("window: got [%v, %v), want [%v, %v)", got.From, got.To, want.From, want.To)
	}
	if len(got.Items) != len(want.Items) {
		add("items: got %d, want %d", len(got.Items), len(want.Items))
	}
	for i := range min(len(got.Items), len(want.Items)) {
		if g, w := jsonOf(got.Items[i]), jsonOf(want.Items[i]); g != w {
			add("item %d:\n got  %s\n want %s", i, g, w)
		}
	}
	if !reflect.DeepEqual(got.Totals, want.Totals) {
		add("totals:\n got  %s\n want %s", jsonOf(got.Totals), jsonOf(want.Totals))
	}
	if len(got.RowErrors) != len(want.RowErrors) {
		add("row errors: got %d, want %d: %v", len(got.RowErrors), len(want.RowErrors), got.RowErrors)
	}
	for i := range min(len(got.RowErrors), len(want.RowErrors)) {
		g, w := got.RowErrors[i], want.RowErrors[i]
		if g.Line != w.Line || g.Column != w.Column || g.Reason == "" {
			add("row error %d: got %+v, want line %d column %q with a reason", i, g, w.Line, w.Column)
		}
	}
	return out
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}
