package projections

import (
	"context"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// ledgerTable: one row per charging energy callback (orderMoney > 0),
// keyed by event id so a replayed event is written once.
var ledgerTable = &Table{
	Name: "ledger",
	Columns: []Column{
		{Name: "event_id", Type: Text},
		{Name: "order_id", Type: Text},
		{Name: "tx_id", Type: Int64},
		{Name: "seq", Type: Int64},
		{Name: "recorded_at", Type: Time},
		{Name: "total_delegate_nums", Type: Int64},
		{Name: "hash", Type: Text},
		{Name: "energy_nums", Type: Int64},
		{Name: "order_money_sun", Type: Int64},
		{Name: "recharge", Type: Int64},
		{Name: "state", Type: Int64},
	},
	Key:     []string{"event_id"},
	Indexes: [][]string{{"order_id", "tx_id", "seq"}, {"recorded_at"}},
}

// Ledger is the charge ledger: energy.LedgerEntryOf of every energy event.
// Rows never change once written, so a rebuild streams them out in chunks
// instead of holding them all.
type Ledger struct{}

// Name implements Projection.
func (Ledger) Name() string { return "ledger" }

// Version implements Projection.
func (Ledger) Version() int { return 1 }

// Tables implements Projection.
func (Ledger) Tables() []*Table { return []*Table{ledgerTable} }

// Handles implements Projection.
func (Ledger) Handles(eventType string) bool { return eventType == energy.EventType }

// NewFold implements Projection.
func (Ledger) NewFold() Fold { return &ledgerFold{} }

func (Ledger) streamPrefix() string { return energy.StreamPrefix }
func (Ledger) typePrefix() string   { return energy.EventType }

type ledgerFold struct{ pending [][]any }

// drains: a ledger row is final once made, in any order of events.
func (*ledgerFold) drains(bool) bool { return true }

func (f *ledgerFold) drain(_, _ bool, emit func(*Table, []any) error) error {
	for _, row := range f.pending {
		if err := emit(ledgerTable, row); err != nil {
			return err
		}
	}
	clear(f.pending) // the rows now belong to the writer
	f.pending = f.pending[:0]
	return nil
}

func (*ledgerFold) Load(context.Context, *Tx, []domain.Event) error { return nil }

func (f *ledgerFold) Apply(e domain.Event) error {
	// Only callbacks in order streams, as for the orders: a rebuild reads
	// the ledger's events stream by stream from those streams alone.
	if _, err := orderKey(e); err != nil {
		return err
	}
	le, ok, err := energy.LedgerEntryOf(e)
	if err != nil || !ok {
		return err
	}
	f.pending = append(f.pending, []any{le.EventID, le.OrderID, int64(le.Position.TxID), le.Position.Seq,
		le.RecordedAt.UTC(), le.TotalDelegateNums, le.Hash, le.EnergyNums, le.OrderMoneySun, le.Recharge, le.State})
	return nil
}

func (f *ledgerFold) Flush(ctx context.Context, tx *Tx, _ bool) error {
	if len(f.pending) == 0 {
		return nil
	}
	if err := tx.Write(ctx, ledgerTable, Rows(f.pending)); err != nil {
		return err
	}
	f.pending = f.pending[:0]
	return nil
}

// ledgerEntry rebuilds an entry from a row (see Reader.Ledger).
func ledgerEntry(eventID, orderID string, txID, seq int64, at time.Time, total int64, hash string,
	energyNums, money, recharge, state int64) energy.LedgerEntry {
	return energy.LedgerEntry{
		Position: domain.Position{TxID: uint64(txID), Seq: seq}, EventID: eventID, RecordedAt: at,
		OrderID: orderID, TotalDelegateNums: total, Hash: hash, EnergyNums: energyNums,
		OrderMoneySun: money, Recharge: recharge, State: state,
	}
}

var _ Projection = Ledger{}
