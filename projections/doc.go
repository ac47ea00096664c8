// Package projections turns the event log into the read models the API
// serves (devices, orders, ledger) and keeps them current.
//
// # Exactly-once effect
//
// Delivery is at least once: a Runner reads the log (domain.EventStore
// ReadAll, in commit order) from a checkpoint, and after a crash it reads
// again from the last checkpoint. The effect is exactly once because each
// batch's read-model writes and its checkpoint commit in ONE transaction:
// either both are stored or neither, so a crash replays at most the batch
// that did not commit. The checkpoint update is a compare-and-set
// (UPDATE ... WHERE position = the one this runner last wrote) done first
// in the transaction, so if two processes ever applied the same projection
// (a leader that lost its lock and has not noticed yet), the second waits on
// that row and then rolls back instead of applying a batch twice. The folds
// are also replay-safe on their own (carwash.Evolve ignores events at or
// before a state's position, energy.Evolve ignores event ids it has seen,
// ledger rows are keyed by event id).
//
// The projections of a Runner follow the log each from its own checkpoint,
// but live they read it once between them: the newest stretch read is kept
// in memory (logTail, without raw bodies), the others take it from there,
// and projections woken together wait for the one store read in flight.
//
// # Batches in memory
//
// A batch of up to Config.BatchSize events is folded in memory: the rows
// it touches are loaded once, every event is applied to the in-memory
// states with the domain folds (carwash.Apply, energy.Evolve,
// energy.LedgerEntryOf), and each changed row is upserted once (on
// PostgreSQL one INSERT ... SELECT FROM unnest(arrays) per table). Catch-up
// runs batch after batch; once a read comes back short the projection is
// live and waits on Store.WaitForEvents, gathering events for
// Config.FlushInterval before the next batch; after each live (short)
// batch it waits Config.FlushInterval again before reading on. That
// pause bounds a live projection's transactions to about one per
// interval however fast events arrive: batches grow with the load instead
// of the commits multiplying, and the cores go to ingest first (on two
// cores at 5,000 callbacks/s this raised the sustainable ingest rate by a
// quarter, for about 20 ms more lag). Between batches a live
// projection keeps up to Config.CacheStates committed states in memory,
// so a batch reads and decodes only the rows it has not seen lately; any
// failed batch drops that cache (a fold may have changed cached states in
// place before the failure). After each commit it also hands the devices'
// and orders' documents it wrote to its DocCache, from which a Reader
// given ReaderOptions.Docs answers GETs by key while this process leads
// the projection (see DocCache for what that can and cannot see).
//
// A device's per-order memory (the order ids behind its distinct-order
// counters, carwash.OrderEntry) is kept in device_orders, one row per
// order, not in the device's state: a batch loads the rows of the orders
// its events name and writes back the ones it changed, and cached device
// states are kept without them.
//
// # One leader per projection
//
// Each projection is applied by one process at a time, holding the lease
// "projection:<name>" from a Locker: on PostgreSQL pg_try_advisory_lock on a
// dedicated connection (PostgresLocker), retried every Config.LockRetry by
// standbys; if that connection dies the leader cancels its work at once and
// the server releases the lock, so a standby takes over. On SQLite the
// lease is a flock(2) on a file beside the database (FileLocker): one serve
// process applies the projections, and a `tidemark rebuild` in another
// process, or a second rebuild, is kept apart from a rebuild already
// running (ErrRebuildInProgress) instead of racing it for the same tables.
//
// # Poison events
//
// An event a fold rejects is recorded in projection_poison (projection,
// version, position, event id, error, time) and counted; by policy the
// projection skips it or stops before it (status failed) until Retry.
// So is an event whose read-model write the database refuses for good
// (Config.Interpret says domain.ErrInvalidEvent): the batch is applied
// again one event at a time, so its other events commit, and the event
// whose own write fails is the poison one. A transient failure (database
// down) is retried as it was. Status shows the count and the newest.
// (A rebuild's bulk write has no such sieve: a refused row fails it.)
//
// # Versions and blue/green rebuilds
//
// projection_versions says which version of each projection's tables
// (devices_v1, devices_v2, ...) is served. Rebuild builds version N+1 from
// the start of the log up to the head it saw at the start, at full speed,
// catches it up, then switches the served version in one transaction while
// version N serves queries until that moment; N is dropped
// Config.DropGrace later.
//
// The pass over the log: with a store that can scan (domain.LogScanner,
// PostgreSQL), events come lean (no raw bodies). Projections whose rows
// each depend on one stream (orders and the ledger: energy.order-*) get
// their streams one after another, each in version order, from a scan of
// their own; an order is folded completely, written, and forgotten, so
// their memory does not grow with the log. Their finished rows are
// written while the pass goes on, 5,000 at a time, each chunk gathered
// first and then written in a short transaction (COPY on PostgreSQL): an
// open transaction would hold SQLite's one writer, and on PostgreSQL hold
// back every log reader's gate. The device fold, whose
// MACHINE_UPDATE_STATUS events touch many devices, reads the car-wash
// events in log order and holds every device's state and order entries
// until one bulk write at the end. Keys and indexes are added after the
// rows (PostgreSQL). Without a scanner, one ReadAll pass feeds every fold. A runner whose
// projection code Version is newer than the served tables' rebuilds the
// same way before applying. RebuildOptions.Until builds a point-in-time
// copy (tables suffixed _asof_YYYYMMDDTHHMMSS) of the events recorded up to
// then, without touching the served version; copies stay until dropped
// (Copies lists them, DropCopy drops one).
//
// Table DDL for both dialects is generated from one Table description per
// read model. The bookkeeping tables come from migrations 0020.
//
// # Reading
//
// Reader answers the API's queries (Device, Devices, Order, Orders, Ledger)
// from the served version, with keyset pagination behind opaque cursors.
package projections
