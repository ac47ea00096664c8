package projections

import (
	"encoding/json"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Projection states, as GET /v1/projections shows them.
const (
	StateLive       = "live"
	StateCatchingUp = "catching_up"
	StateRebuilding = "rebuilding"
	StateFailed     = "failed"
)

// Status is one projection's state as seen from this process.
//
// LagEvents is head.Seq - position.Seq. On SQLite that is the number of
// events not applied yet; on PostgreSQL it is approximate (sequence values
// can have gaps, and commit order is by transaction id first). LagSeconds is
// now minus the RecordedAt of the oldest event not applied yet, 0 when
// caught up. A process that is not the projection's leader reports the
// checkpoint the leader last committed.
//
// PoisonEvents counts the events the served version could not apply
// (recorded in projection_poison; under policy skip the projection stays
// live), and LastPoison names the newest: "event <id> at <position>:
// <error>". LastError is the projection's own latest error, cleared when
// a batch commits again.
type Status struct {
	Name        string
	Version     int // the served version (its tables are e.g. devices_v2)
	CodeVersion int // the projection code version of this process
	State       string
	Leader      bool // this process applies the projection
	Position    domain.Position
	Head        domain.Position
	LagEvents   int64
	LagSeconds  float64
	LastError   string
	// PoisonEvents and LastPoison describe the served version's poison events.
	PoisonEvents int64
	LastPoison   string
	Rebuild      *Progress // a rebuild running in this process, if any
}

// MarshalJSON renders the api.md shape (positions as "txid.seq").
func (s Status) MarshalJSON() ([]byte, error) {
	var lastErr, lastPoison *string
	if s.LastError != "" {
		lastErr = &s.LastError
	}
	if s.LastPoison != "" {
		lastPoison = &s.LastPoison
	}
	return json.Marshal(struct {
		Name         string    `json:"name"`
		Version      int       `json:"version"`
		CodeVersion  int       `json:"codeVersion"`
		Status       string    `json:"status"`
		Leader       bool      `json:"leader"`
		Position     string    `json:"position"`
		HeadPosition string    `json:"headPosition"`
		LagEvents    int64     `json:"lagEvents"`
		LagSeconds   float64   `json:"lagSeconds"`
		LastError    *string   `json:"lastError"`
		PoisonEvents int64     `json:"poisonEvents"`
		LastPoison   *string   `json:"lastPoison"`
		Rebuild      *Progress `json:"rebuild"`
	}{s.Name, s.Version, s.CodeVersion, s.State, s.Leader, s.Position.String(), s.Head.String(),
		s.LagEvents, s.LagSeconds, lastErr, s.PoisonEvents, lastPoison, s.Rebuild})
}

// Rebuild phases.
const (
	PhaseFolding    = "folding"     // one pass over the log, states in memory
	PhaseWriting    = "writing"     // bulk write, keys and indexes
	PhaseCatchingUp = "catching_up" // from where the pass ended to the head
	PhaseSwitching  = "switching"   // the new version becomes the served one
	PhaseDone       = "done"
	PhaseFailed     = "failed"
)

// Progress is a rebuild's progress. Done and Total count events of the
// pass over the log (Total is the head's sequence number when it started:
// exact on SQLite, approximate on PostgreSQL).
type Progress struct {
	Projections []string      `json:"projections"`
	Version     int           `json:"version"` // version being built; 0 for a point-in-time copy
	Until       *time.Time    `json:"until,omitempty"`
	Phase       string        `json:"phase"`
	Done        int64         `json:"done"`
	Total       int64         `json:"total"`
	Rate        float64       `json:"rate"` // events per second so far
	ETA         time.Duration `json:"-"`
	ETASeconds  float64       `json:"etaSeconds"`
	StartedAt   time.Time     `json:"startedAt"`
	Error       string        `json:"error,omitempty"`
}
