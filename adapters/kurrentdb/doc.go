// Package kurrentdb keeps Tidemark's event log in KurrentDB (formerly
// EventStoreDB), through github.com/kurrent-io/KurrentDB-Client-Go, for
// deployments that outgrow one PostgreSQL. Read models stay in
// PostgreSQL; Store implements domain.EventStore and passes the shared
// conformance suite (adapters/storetest) when a server is at hand.
//
// # Streams, events, positions
//
// A domain stream is a KurrentDB stream named Options.StreamPrefix +
// stream. The prefix isolates deployments (and each conformance test)
// sharing a cluster: ReadAll, Head, WaitForEvents and Subscribe see only
// streams under it. An event is stored with its id as the KurrentDB event id, its
// type, the canonical JSON as data (content type JSON), and a metadata
// JSON holding domain.Metadata, the raw body (base64, field "raw") and, for
// imported events, "recordedAt" (see envelope.go). StreamVersion is the
// revision + 1 (domain versions start at 1, revisions at 0); the domain's
// NoStream (0) is KurrentDB's NoStream and an exact version n is revision
// n-1. Position is the event's $all position: TxID = commit position,
// Seq = prepare position, which Position.Less orders exactly as $all does
// (position.go). Projection checkpoints are therefore $all positions,
// stored with the read models in PostgreSQL in the same transaction as the
// batch they close, as with the PostgreSQL log.
//
// # Idempotency: how duplicates are found
//
// The port wants an event whose id is stored already to be reported (with
// its original version and position) rather than written again, and a
// request whose events are all stored to succeed whatever its expected
// version. KurrentDB deduplicates ids only in one case: an append with an
// explicit expected revision r whose events are exactly those at r+1, r+2,
// ... is acknowledged without writing. With "any" it only tries (a
// bounded cache), and a retry that arrives after the stream has moved on
// is not caught at all. So the store never appends with "any" and finds
// duplicates itself:
//
//  1. Before appending, it reads the stream newest first (one read per
//     stream per batch) for the request's ids, noting the stream's last
//     version. The search stops when every id is found, at the first event
//     recorded more than Options.DedupeHorizon ago (1h) or after
//     Options.DedupeLimit events (1,000). A callback's retries (same id,
//     same stream, since both come from the body) arrive within minutes;
//     an id older than the window is not seen and would be written again,
//     the one way in which this store is weaker than PostgreSQL's unique
//     index. The dedupe scope is the stream, which for Tidemark's
//     deterministic ids is where a duplicate lands. A batch with new events
//     reads the whole window of each stream it touches, so DedupeLimit
//     trades write throughput against how far back a retry is recognised.
//  2. Ids found are reported as duplicates. If all are found, the request
//     succeeds, writing nothing. Otherwise the expected version is checked
//     against the version read (AnyVersion passes) and only the new events
//     are appended, with the expected revision set to the version read:
//     an explicit stream state, always.
//  3. If another writer moved the stream in between, the append fails with
//     WrongExpectedVersion instead of writing a duplicate; the store reads
//     the tail again and re-plans (an AnyVersion request retries, up to 32
//     times; an exact one gets domain.ErrWrongExpectedVersion unless its
//     events turn out to be stored by then). If that writer appended the
//     very same events, KurrentDB's own check acknowledges our append
//     without writing: the event is stored once, though then both callers
//     are told it was new.
//  4. The stored events are read back (one read per append) for their
//     $all positions, checking that their ids are ours.
//
// # Batches, imports, waiting
//
// KurrentDB has no transaction across streams, so AppendBatch appends its
// requests one by one, in request order (positions follow request order and
// a later request sees an earlier one), each on its own; the reads of
// steps 1 and 4 run in parallel (Options.Concurrency). Import appends per
// stream in chunks, each expecting the stream at the version before it.
// WaitForEvents is woken by one live, server-filtered $all subscription
// per Store; Subscribe offers the same catch-up subscription from a stored
// position, resubscribing after drops.
//
// $all reads skip system events (type or stream starting with "$") and
// streams outside the prefix. The client library has no server-side filter
// for $all reads (only for subscriptions), so with a prefix on a cluster
// shared with much other data, ReadAll and Head read past the others'
// events.
//
// # Errors and connections
//
// interpretError (errors.go) maps every client error code to a domain
// error in one table. The client closes itself for good after a failed
// discovery; the store then makes a new client on the next call, so it
// recovers by itself when the cluster is back (conn.go). Reads that the
// append path depends on ask for the leader.
package kurrentdb
