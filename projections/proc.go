package projections

import (
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// proc is one projection inside a Runner and what Status reports of it.
type proc struct {
	p     Projection
	retry chan struct{}

	mu      sync.Mutex
	version int
	state   string
	leader  bool
	pos     domain.Position
	head    domain.Position
	oldest  time.Time // RecordedAt of the oldest event not applied yet; zero when caught up
	lastErr string
	poison  poisonSummary
}

func (pr *proc) setPoison(ps poisonSummary) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.poison = ps
}

func (pr *proc) setLeader(b bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.leader = b
}

func (pr *proc) setError(err error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.lastErr = err.Error()
}

func (pr *proc) setFailed(err error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.lastErr = err.Error()
	pr.state = StateFailed
}

func (pr *proc) setState(s string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.state = s
}

func (pr *proc) setVersion(v int, state string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.version, pr.state = v, state
}

func (pr *proc) setPrepared(v int, pos, head domain.Position) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.version, pr.pos, pr.head = v, pos, head
	if pr.state != StateFailed || pr.leader {
		pr.state = StateCatchingUp
	}
}

func (pr *proc) setCaughtUp(pos domain.Position) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.pos, pr.state, pr.oldest = pos, StateLive, time.Time{}
	if pr.head.Less(pos) || pr.head == pos {
		pr.head = pos
	}
	pr.lastErr = ""
}

func (pr *proc) setReading(first time.Time, full bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.oldest.IsZero() || first.Before(pr.oldest) || full {
		pr.oldest = first
	}
	if full {
		pr.state = StateCatchingUp
	}
}

func (pr *proc) setApplied(pos, head domain.Position, lastAt time.Time, full bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.pos = pos
	if pr.head.Less(head) {
		pr.head = head
	}
	if pr.head.Less(pos) {
		pr.head = pos
	}
	if full {
		pr.oldest = lastAt // the next unapplied event is at least this old (approximately)
	} else {
		pr.oldest, pr.state = time.Time{}, StateLive
	}
	pr.lastErr = ""
}

func (pr *proc) setStandby(v int, pos, head domain.Position, oldest time.Time) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.version, pr.pos, pr.head, pr.oldest = v, pos, head, oldest
	if oldest.IsZero() {
		pr.state = StateLive
	} else {
		pr.state = StateCatchingUp
	}
}

func (pr *proc) status(now time.Time) Status {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	s := Status{Name: pr.p.Name(), Version: pr.version, CodeVersion: pr.p.Version(), State: pr.state,
		Leader: pr.leader, Position: pr.pos, Head: pr.head, LastError: pr.lastErr,
		PoisonEvents: pr.poison.count, LastPoison: pr.poison.last}
	if s.Head.Less(s.Position) {
		s.Head = s.Position
	}
	s.LagEvents = max(0, s.Head.Seq-s.Position.Seq)
	if !pr.oldest.IsZero() {
		s.LagSeconds = max(0, now.Sub(pr.oldest).Seconds())
	}
	return s
}
