// Package carwash holds the rules of the car-wash IoT platform's callbacks
// (domain.md §1): Decode checks a body and maps it to its stream, event type
// and id; ParseCallback gives a fast typed view of a stored event; Evolve
// (or Apply, for an event already parsed) and Fold build the device read
// model, one fold shared by the projection, asOf queries and tests. Pure
// code: no I/O.
//
// Choices this package makes where the platform is silent:
//   - iotId must be a positive integer (it names a stream). Numeric strings
//     are accepted for every integer and number field; null counts as absent.
//   - callbackType is any non-empty string. An unknown type needs only
//     callTime; it goes to carwash.device-<iotId> when it has a positive
//     integer iotId, else to carwash.other. Its other fields are not checked,
//     and the device read model skips it (domain.md: projections skip
//     unknown types until one learns them). Its event type is EventType's:
//     control characters replaced and cut to MaxEventTypeLen bytes.
//   - A MACHINE_UPDATE_STATUS iotIdList must hold integers, at least one of
//     them positive; the ids that are not positive cannot be routed and are
//     skipped (the event keeps them), so one bad id does not lose the rest.
//     A null in iotIdList or orderIdList is skipped the same way.
//   - Only the fields a type defines are checked and read; others are extras,
//     kept as sent. The kind of status is fixed per type: an integer for
//     MACHINE_UPDATE_STATUS, a string for FA / RT2 / TT1, a string or a
//     number for ZY. Enum values are never rejected.
//   - Read model: a value never reported is null; an attribute absent from a
//     callback keeps its value (so do each TDS reading, from the latest
//     upload that sent it, and an order's volumeLeftMl, from its latest
//     WP1_WORK_FINISH that sent volume). onlineChangedAt is the callTime of the report
//     online comes from. tunnel is always an object; waterPurifier is null
//     until a WP1_* callback. parking.raw is status as sent (JSON string or
//     number; null if absent, status UNKNOWN). lastEntryAt is the greatest
//     callTime of a successful entry. Strings inside lastError are "" when
//     the callback lacked them.
//   - Water-purifier session per order: FINISHED once any WP1_WORK_FINISH is
//     seen, else the status of its latest-callTime READY / START_WATER /
//     WAIT_TIMEOUT (so a resume shows DISPENSING again); the session shown is
//     the order with the latest callback.
//   - Events are folded in log order, which every reader of the store gives.
//     A replay (an event at or before the state's Position) is a no-op, so
//     per-event counters need no set of event ids; only distinct order ids
//     are remembered, and those outside the state's JSON (OrderEntry), so a
//     projection stores and loads them one order at a time. In log order
//     the later-applied event is the later-stored one, so callTime stamps
//     alone settle "latest, ties to the later-stored".
package carwash
