package sqlerr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"
)

// closedDB is a database/sql handle that was closed; its errors are the real ones.
func closedDB(t *testing.T) *sql.DB {
	t.Helper()
	db := sql.OpenDB(connector{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return db
}

type connector struct{}

func (connector) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("no connections here")
}
func (connector) Driver() driver.Driver { return nil }

func TestConnectionGone(t *testing.T) {
	_, closedErr := closedDB(t).Conn(context.Background())
	if closedErr == nil {
		t.Fatal("a closed handle gave a connection")
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"closed handle", closedErr, true},
		{"closed handle, wrapped", fmt.Errorf("served version: %w", closedErr), true},
		{"closed handle, joined", fmt.Errorf("%w: %w", errors.New("store unavailable"), closedErr), true},
		{"connection done", fmt.Errorf("x: %w", sql.ErrConnDone), true},
		{"bad connection", driver.ErrBadConn, true},
		{"no rows", sql.ErrNoRows, false},
		{"other", errors.New("syntax error"), false},
		{"nil", nil, false},
	} {
		if got := ConnectionGone(tc.err); got != tc.want {
			t.Errorf("%s (%v): ConnectionGone = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
