package energy

import (
	"time"

	"github.com/tidemark/tidemark/domain"
)

// LedgerEntry is one charge: a callback with orderMoney > 0.
type LedgerEntry struct {
	Position          domain.Position
	EventID           string
	RecordedAt        time.Time
	OrderID           string
	TotalDelegateNums int64
	Hash              string
	EnergyNums        int64
	OrderMoneySun     int64
	Recharge          int64
	State             int64
}

// LedgerEntryOf returns the ledger entry of an event; ok is false for
// events of other types and callbacks that charged nothing.
func LedgerEntryOf(e domain.Event) (LedgerEntry, bool, error) {
	if e.Type != EventType {
		return LedgerEntry{}, false, nil
	}
	c, err := ParseCallback(e.Data)
	if err != nil {
		return LedgerEntry{}, false, err
	}
	if c.OrderMoneySun <= 0 {
		return LedgerEntry{}, false, nil
	}
	id := e.ID
	if id == "" {
		id = domain.EventID(Source, e.Data)
	}
	return LedgerEntry{
		Position:          e.Position,
		EventID:           id,
		RecordedAt:        e.RecordedAt,
		OrderID:           c.OrderID,
		TotalDelegateNums: c.TotalDelegateNums,
		Hash:              c.Hash,
		EnergyNums:        c.EnergyNums,
		OrderMoneySun:     c.OrderMoneySun,
		Recharge:          c.Recharge,
		State:             c.State,
	}, true, nil
}
