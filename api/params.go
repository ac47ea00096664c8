package api

import (
	"net/http"
	"strconv"
	"time"
)

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// parseLimit reads ?limit= (default 100, 1..1000); it answers 400 itself when invalid.
func parseLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		writeProblem(w, http.StatusBadRequest, "limit must be an integer from 1 to 1000")
		return 0, false
	}
	return n, true
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
