package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/tidemark/tidemark/projections"
)

// Projections is the projection runner as the API sees it (implemented by *projections.Runner).
type Projections interface {
	Status() []projections.Status
	StartRebuild(opts projections.RebuildOptions) error
}

// projectionStatus is api.md's projection object.
type projectionStatus struct {
	Name         string           `json:"name"`
	Version      int              `json:"version"`
	Status       string           `json:"status"`
	Leader       bool             `json:"leader"`
	Position     int64            `json:"position"`     // the last event applied, numbered as in the other lists
	HeadPosition int64            `json:"headPosition"` // the newest event in the log, likewise
	Cursor       string           `json:"cursor"`       // the position as /v1/events?after= takes it (txid.seq)
	LagEvents    int64            `json:"lagEvents"`
	LagSeconds   float64          `json:"lagSeconds"`
	LastError    *string          `json:"lastError"`
	PoisonEvents int64            `json:"poisonEvents"` // events the served version could not apply
	LastPoison   *string          `json:"lastPoison"`   // the newest of them: "event <id> at <position>: <error>"
	Rebuild      *rebuildProgress `json:"rebuild"`
}

type rebuildProgress struct {
	Projections []string `json:"projections"`
	Version     int      `json:"version"`
	Phase       string   `json:"phase"`
	Done        int64    `json:"done"`
	Total       int64    `json:"total"`
	Rate        float64  `json:"rate"`
	ETASeconds  float64  `json:"etaSeconds"`
	StartedAt   string   `json:"startedAt" format:"date-time"`
	Error       string   `json:"error,omitempty"`
}

func (s *Server) handleProjections(w http.ResponseWriter, r *http.Request) {
	if s.deps.Projections == nil {
		writeProblem(w, http.StatusServiceUnavailable, "projections are not running in this process")
		return
	}
	sts := s.deps.Projections.Status()
	out := make([]projectionStatus, 0, len(sts))
	for _, st := range sts {
		ps := projectionStatus{Name: st.Name, Version: st.Version, Status: st.State, Leader: st.Leader,
			Position: st.Position.Seq, HeadPosition: st.Head.Seq, Cursor: st.Position.String(),
			LagEvents: st.LagEvents, LagSeconds: st.LagSeconds,
			PoisonEvents: st.PoisonEvents}
		if st.LastError != "" {
			e := st.LastError
			ps.LastError = &e
		}
		if st.LastPoison != "" {
			p := st.LastPoison
			ps.LastPoison = &p
		}
		if p := st.Rebuild; p != nil {
			ps.Rebuild = &rebuildProgress{Projections: p.Projections, Version: p.Version, Phase: p.Phase, Done: p.Done,
				Total: p.Total, Rate: p.Rate, ETASeconds: p.ETASeconds, StartedAt: p.StartedAt.UTC().Format(time.RFC3339), Error: p.Error}
		}
		out = append(out, ps)
	}
	writeJSON(w, http.StatusOK, itemsOf[projectionStatus]{Items: out})
}

// handleRebuild starts a blue/green rebuild in the background: 202, progress in GET /v1/projections.
func (s *Server) handleRebuild(w http.ResponseWriter, r *http.Request) {
	if s.deps.Projections == nil {
		writeProblem(w, http.StatusServiceUnavailable, "projections are not running in this process")
		return
	}
	name := r.PathValue("name")
	err := s.deps.Projections.StartRebuild(projections.RebuildOptions{Projections: []string{name}})
	switch {
	case errors.Is(err, projections.ErrUnknownProjection):
		writeProblem(w, http.StatusNotFound, "no projection is named "+name)
	case errors.Is(err, projections.ErrRebuildInProgress):
		writeProblem(w, http.StatusConflict, "a rebuild of "+name+" is already under way")
	case err != nil:
		s.queryError(w, r, err)
	default:
		writeJSON(w, http.StatusAccepted, rebuildAccepted{Projection: name, Status: "rebuilding",
			Location: "/v1/projections"})
	}
}

type rebuildAccepted struct {
	Projection string `json:"projection"`
	Status     string `json:"status"`
	Location   string `json:"location"`
}
