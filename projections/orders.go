package projections

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// ordersTable: one row per orderId, with the filter columns of api.md and
// indexes ending with order_id for keyset pagination.
var ordersTable = &Table{
	Name: "orders",
	Columns: []Column{
		{Name: "order_id", Type: Text},
		{Name: "state_code", Type: Int64, Nullable: true}, // NULL until a callback sends a state
		{Name: "receive_address", Type: Text},
		{Name: "anomalies", Type: Int64},
		{Name: "charged_sun", Type: Int64},
		{Name: "state", Type: JSON}, // energy.OrderState but its Order, to resume folding
		{Name: "doc", Type: JSON},   // energy.Order, served as is (and the state's Order)
	},
	Key: []string{"order_id"},
	Indexes: [][]string{
		{"state_code", "order_id"},
		{"receive_address", "order_id"},
	},
}

// Orders is the energy order read model (domain.md §2), folded by energy.Evolve.
type Orders struct{}

// Name implements Projection.
func (Orders) Name() string { return "orders" }

// Version implements Projection. Version 2 stores the order document
// once, in doc, and no longer inside state too. Version 3 keeps a snapshot
// field the snapshot callback lacks from the greatest callback that sent it
// (it was blanked: state "unknown", address "").
func (Orders) Version() int { return 3 }

// Tables implements Projection.
func (Orders) Tables() []*Table { return []*Table{ordersTable} }

// Handles implements Projection.
func (Orders) Handles(eventType string) bool { return eventType == energy.EventType }

// NewFold implements Projection.
func (Orders) NewFold() Fold {
	return &keyed[string, energy.OrderState, struct{}]{
		table:    ordersTable,
		keyCol:   "order_id",
		stateCol: "state",
		docCol:   "doc",
		join:     func(s *energy.OrderState, doc []byte) error { return json.Unmarshal(doc, &s.Order) },
		parse: func(e domain.Event) (struct{}, []string, error) {
			ks, err := orderKey(e)
			return struct{}{}, ks, err
		},
		evolve: func(s energy.OrderState, _ string, e domain.Event, _ struct{}) (energy.OrderState, error) {
			return energy.Evolve(s, e)
		},
		row:      orderRow,
		parseKey: stringKey,
	}
}

// orderKey routes by stream (energy.order-<orderId>), as the ingest path
// stored it; energy.Evolve checks that the body names the same order.
func orderKey(e domain.Event) ([]string, error) {
	id, ok := strings.CutPrefix(e.Stream, energy.StreamPrefix)
	if !ok || id == "" {
		return nil, fmt.Errorf("energy event %s in stream %q: not an order stream: %w", e.ID, e.Stream, domain.ErrInvalidEvent)
	}
	return []string{id}, nil
}

func orderRow(orderID string, s energy.OrderState) ([]any, error) {
	o := s.Order
	doc, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", orderID, err)
	}
	s.Order = energy.Order{} // stored once, in the doc column
	state, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("order %s state: %w", orderID, err)
	}
	var stateCode any // NULL while the state is unknown
	if o.StateCode != nil {
		stateCode = *o.StateCode
	}
	return []any{orderID, stateCode, o.ReceiveAddress, o.Anomalies, o.ChargedSun, state, doc}, nil
}

// Each order's rows depend on its stream's events only.
func (Orders) streamPrefix() string { return energy.StreamPrefix }
func (Orders) typePrefix() string   { return energy.EventType }

var _ Projection = Orders{}
