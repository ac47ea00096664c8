// Package groupcommit batches concurrent appends into one store transaction,
// so each caller still waits for a durable commit but the commit (the fsync)
// is shared by everyone who arrived meanwhile.
//
// Design: Append puts the caller's request on a queue and waits. One flusher
// goroutine takes the first queued request, then everything else already
// queued (up to MaxBatch; with MaxWait > 0 it also waits up to MaxWait for
// more), and sends the batch with one EventStore.AppendBatch call. While that
// transaction commits, new callers queue up and form the next batch, so the
// batch size follows the load without any tuning: one caller alone pays one
// transaction, a thousand share a few. With Options.Flushers > 1 several
// flushers do this at once, each with its own batch and transaction, so a
// store that commits in parallel (PostgreSQL) keeps working while one batch
// waits for its commit. One flusher at a time gathers the next batch, and
// while another batch is in flight it holds a small one back (until that
// batch ends, Options.FillBatch requests wait or Options.HoldMax passes):
// otherwise the flushers would share the load in many small transactions,
// each paying a whole commit, which on a busy machine cost PostgreSQL twice
// the CPU per event of fewer, fuller ones.
//
// Outcomes: each caller gets its own result or error (a conflicting request
// fails alone, the store rolls it back to its savepoint); a batch-level error
// (the transaction failed, nothing written) is returned to every caller of
// that batch, except domain.ErrInvalidEvent: a request the store refuses for
// good is not allowed to fail the others, so the batch is written again one
// request at a time and only the refused one fails.
//
// Cancellation: a request is claimed atomically either by the flusher (when
// it joins a batch) or by its caller (when the caller's ctx ends first). A
// caller that gives up before its batch is sent gets ctx.Err() and its
// request is never written; once sent, the caller waits for the real outcome,
// so an answer never hides a write. Batches run on a context of their own,
// so one caller's cancellation cannot abort the others'.
//
// Close stops accepting (later Appends fail with domain.ErrUnavailable),
// writes what is already queued and waits for the in-flight batches.
package groupcommit
