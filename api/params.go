package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidemark/tidemark/domain"
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

// Kinds of the position cursors of the lists the API cuts itself.
const (
	cursorDeviceEvents = "device-events"
	cursorLedger       = "ledger"
)

// encodeCursor makes a position cursor of a list the API pages in memory
// (a device's events, an order's ledger): base64url of "<kind>:<txid.seq>",
// opaque like the read models' cursors, so clients pass it back as given.
func encodeCursor(kind string, p domain.Position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + p.String()))
}

// decodeCursor reads a cursor encodeCursor made for the same kind of list.
// Anything else (forged, or another list's) wraps domain.ErrInvalidPosition:
// a 400, never a silently restarted list.
func decodeCursor(kind, c string) (domain.Position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return domain.Position{}, fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
	}
	v, ok := strings.CutPrefix(string(b), kind+":")
	if !ok || !strings.Contains(v, ".") {
		return domain.Position{}, fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
	}
	p, err := domain.ParsePosition(v)
	if err != nil {
		return domain.Position{}, fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
	}
	return p, nil
}

// pageAfter cuts one page from items (in log order): those after the
// cursor's position (all when cursor is ""), at most limit, and the cursor
// of the next page, "" when this one is the last.
func pageAfter[T any](items []T, pos func(T) domain.Position, kind, cursor string, limit int) ([]T, string, error) {
	if cursor != "" {
		after, err := decodeCursor(kind, cursor)
		if err != nil {
			return nil, "", err
		}
		items = items[sort.Search(len(items), func(i int) bool { return after.Less(pos(items[i])) }):]
	}
	if len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], encodeCursor(kind, pos(items[limit-1])), nil
}
