package billing

import (
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Window is a receive-time interval [From, To); a nil bound is open.
type Window struct {
	From, To *time.Time
}

// Contains reports whether t lies in the window.
func (w Window) Contains(t time.Time) bool {
	if w.From != nil && t.Before(*w.From) {
		return false
	}
	if w.To != nil && !t.Before(*w.To) {
		return false
	}
	return true
}

// bounds returns copies of the bounds in UTC, for the answers.
func (w Window) bounds() (*time.Time, *time.Time) {
	return utcCopy(w.From), utcCopy(w.To)
}

func utcCopy(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ReceivedAt is when Tidemark received an event: the metadata's time, else
// the commit time.
func ReceivedAt(e domain.Event) time.Time {
	if !e.Metadata.ReceivedAt.IsZero() {
		return e.Metadata.ReceivedAt
	}
	return e.RecordedAt
}
