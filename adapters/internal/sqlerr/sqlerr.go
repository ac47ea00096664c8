// Package sqlerr recognises database/sql's own failures, for the adapters'
// error mappings.
package sqlerr

import (
	"database/sql"
	"database/sql/driver"
	"errors"
)

// closedMessage is database/sql's unexported errDBClosed, known only by its text.
const closedMessage = "sql: database is closed"

// ConnectionGone reports whether err, anywhere in its chain, says the
// database/sql handle or its connection can no longer be used: the handle
// was closed, the connection was returned, or the driver gave up on it.
func ConnectionGone(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	return anyInChain(err, func(e error) bool { return e.Error() == closedMessage })
}

// anyInChain walks err's tree (both Unwrap forms) and reports whether any
// error in it satisfies f.
func anyInChain(err error, f func(error) bool) bool {
	if err == nil {
		return false
	}
	if f(err) {
		return true
	}
	switch u := err.(type) { //nolint:errorlint // this walks the wrapping itself
	case interface{ Unwrap() error }:
		return anyInChain(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if anyInChain(e, f) {
				return true
			}
		}
	}
	return false
}
