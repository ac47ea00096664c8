package billing

import (
	"fmt"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/energy"
)

// Ledger collects the ledger entries (energy.LedgerEntryOf) of the events
// received in a window, in log order, each distinct event once.
type Ledger struct {
	window  Window
	seen    map[string]struct{}
	entries []energy.LedgerEntry
}

// NewLedger starts a ledger over [from, to); nil bounds are open.
func NewLedger(from, to *time.Time) *Ledger {
	return &Ledger{window: Window{From: utcCopy(from), To: utcCopy(to)}, seen: map[string]struct{}{}}
}

// Add applies one event of the log; other types, events outside the window
// and callbacks that charged nothing add no entry.
func (l *Ledger) Add(e domain.Event) error {
	if e.Type != energy.EventType || !l.window.Contains(ReceivedAt(e)) {
		return nil
	}
	le, ok, err := energy.LedgerEntryOf(e)
	if err != nil {
		return fmt.Errorf("ledger: event %s: %w", e.ID, err)
	}
	if !ok {
		return nil
	}
	if _, dup := l.seen[le.EventID]; dup {
		return nil
	}
	l.seen[le.EventID] = struct{}{}
	l.entries = append(l.entries, le)
	return nil
}

// Entries returns the entries collected so far.
func (l *Ledger) Entries() []energy.LedgerEntry { return l.entries }
