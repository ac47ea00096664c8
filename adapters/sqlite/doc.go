// Package sqlite is the embedded event store: the log (and, through DB, the
// read models) in one SQLite file, using the pure-Go driver modernc.org/sqlite.
//
// Durability: the file is in WAL mode with synchronous=FULL, so when Append
// or AppendBatch returns, the events are on disk (the WAL is fsynced at each
// commit) and a callback may be answered 200.
//
// Writers: SQLite lets one writer at a time commit, so the store keeps ONE
// writer connection (a *sql.DB capped at one connection) and a separate pool
// of reader connections; WAL lets readers run beside the writer. Every
// transaction on the writer starts with BEGIN IMMEDIATE so two processes on
// the same file queue on busy_timeout instead of failing a lock upgrade.
// That queue is not fair: SQLite's busy handler retries after growing
// sleeps (up to 100 ms), so a process whose writers keep the lock busy can
// starve another's past Options.BusyTimeout, which then fails its append
// with domain.ErrUnavailable (503 + Retry-After to a platform).
// Group commit (package groupcommit) batches concurrent appends into one
// transaction. As that transaction holds the write lock, AppendBatch decides
// every request (duplicates, expected versions) from two lookups and writes
// all rows with a few multi-row inserts; only if SQLite still refuses a row
// does it redo the batch one request at a time, each in its own SAVEPOINT,
// so the failing request is rolled back alone (see AppendBatch for why the
// common path avoids savepoints).
//
// Positions: events.seq is the rowid (AUTOINCREMENT, never reused) and is
// Position.Seq; TxID is always 0. Because writers are serialised, rowids
// commit in ascending order and a reader following seq skips nothing.
//
// Storage: data and metadata are JSON text, raw is a BLOB kept byte-exact,
// recorded_at is unix microseconds (UTC) taken from the injected clock at
// append time. A stream's version is max(stream_version) over the
// UNIQUE(stream, stream_version) index; there is no separate streams table.
//
// Waiting: WaitForEvents wakes on an in-process broadcast after each commit of
// this Store and otherwise every PollInterval, which is how appends made by
// other processes (or other Store values on the same file) are noticed.
//
// Errors: every SQLite failure goes through interpretError, which maps busy,
// locked, read-only, disk-full and I/O errors to domain.ErrUnavailable and
// constraint violations to conflicts.
package sqlite
