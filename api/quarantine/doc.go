// Package quarantine keeps every rejected callback (400 malformed, 401 bad
// signature or token, 422 rule broken) with its raw body, reason and time,
// so that a platform that drops a callback after a few non-200 answers
// loses nothing: an admin can list the entries and re-admit one once the
// cause is fixed.
//
// The quarantine is bounded: after each insert the oldest entries beyond
// MaxEntries are deleted, so a flood of bad callbacks cannot fill the disk
// (with the 64 KiB body limit the worst case is MaxEntries × 64 KiB).
// It is written through bun, so one implementation serves SQLite and
// PostgreSQL.
package quarantine
