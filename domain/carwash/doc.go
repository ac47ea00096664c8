// Package carwash holds the rules of the car-wash IoT platform's callbacks
// (domain.md §1): Decode checks a body and maps it to its stream, event type
// and id; ParseCallback gives a typed view of a stored event; Evolve and Fold
// build the device read model, one fold shared by the projection, asOf
// queries and tests. Pure code: no I/O.
//
// Choices this package makes where the platform is silent:
//   - iotId must be a positive integer (it names a stream); numeric strings
//     are accepted for every integer and number field.
//   - null is treated as an absent field.
//   - callbackType is 1 to 64 ASCII letters, digits, '_', '-' or '.' (it
//     becomes an event type). An unknown type needs only callTime; it goes
//     to carwash.device-<iotId> when it has a positive integer iotId, else to
//     carwash.other. Its other fields are not checked.
//   - The kind of status is fixed per type: an integer for
//     MACHINE_UPDATE_STATUS, a string for FA / RT2 / TT1, a string or a
//     number for ZY. Its value is never rejected.
//   - Read model: a value never reported is null. An attribute absent from a
//     callback keeps its value. onlineChangedAt is the callTime of the report
//     online comes from. tunnel is always an object; waterPurifier is null
//     until a WP1_* callback. parking.raw is the status as sent (a JSON
//     string or number, null if absent). lastEntryAt is the greatest callTime
//     of a successful entry.
//   - Water-purifier session per order: FINISHED once any WP1_WORK_FINISH is
//     seen, else the status of its latest-callTime READY / START_WATER /
//     WAIT_TIMEOUT; the session shown is the order with the latest callback.
//   - Replays are recognised by log position (DeviceState.Position), so the
//     state stays bounded by the number of distinct orders, not of events.
package carwash
