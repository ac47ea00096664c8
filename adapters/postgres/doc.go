// Package postgres is the PostgreSQL event store (domain.EventStore) on
// pgx/v5, and the bun handle read models use on the same pool.
//
// The log is read in commit order without gaps: every event carries its
// writer's transaction id (xid8) and readers only take events of
// transactions older than the oldest one still running
// (pg_snapshot_xmin(pg_current_snapshot())), ordered by (tx_id, seq). A
// follower therefore never skips an event whose transaction commits after a
// later-numbered one.
//
// Appends of a batch share one transaction (group commit). The batch's
// streams are locked (advisory locks, in key order, before the transaction
// has an id, so log order agrees with version order), versions are checked
// in Go, and all new events go in with one multi-row INSERT; if that fails
// the batch is redone with a SAVEPOINT per request so a failing request
// fails alone.
// Database errors become domain errors in interpretError.
package postgres
