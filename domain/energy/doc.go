// Package energy holds the rules of the TRON energy order callback
// (domain.md §2): decoding and validating a callback into an event, the
// signature schemes, exact TRX/sun money, TRON address and hash checks, and
// the one pure fold (Evolve) that the orders projection, the asOf queries
// and the tests share, with the ledger entries and reconciliation anomalies
// derived from it. Standard library and validator only; no I/O.
//
// Choices this package makes where the documents leave room:
//
//   - Decode checks in this order: well-formed JSON object (400), then the
//     signature when a secret is configured (401), then the field rules
//     (422), so a body with a bad signature is refused as unauthorized
//     whatever its fields say.
//   - Enum values out of range (recharge, state, autoType, payment,
//     resourceType 0|1 or 0|1|2, source 0|1|2) are rejected with 422 and
//     quarantined, following domain.md §2 "present values are checked"
//     rather than the general "unknown enum values are kept": quarantine
//     keeps them and an admin can re-admit them.
//   - A field whose value is null or "" counts as not sent (the sign
//     schemes skip the same values). Only orderId is required; it may be a
//     JSON string or number (kept by its literal text) but not blank.
//   - Integers may be JSON numbers or numeric strings, written as digits
//     with an optional '-': 6.0 or 1e3 are not integers. orderMoney follows
//     ParseSun: integer = sun, decimal point = TRX, no exponent.
//   - outTradeNo and activeHash are free text (a number is kept by its
//     literal); receiveAddress, hash, bandwidthHash and
//     triggerTransactionId must be strings.
//   - Unknown fields are kept in the event's data and ignored by the fold.
//   - Hashes are hex, so the fold compares them without case (delegations,
//     DUPLICATE_CHARGE), as the statement comparison does; the ledger shows
//     each as sent.
//   - The event id covers the whole body, sign included (domain.md §3): a
//     platform retry repeats the body byte for byte, but the same callback
//     re-signed with its hex in another case would be a second event (and,
//     if it charges, a DUPLICATE_CHARGE on reconciliation, not a silent
//     double count).
//   - orderMoney is at most MaxOrderMoneySun (100 billion TRX) and
//     energyNums at most MaxEnergyNums, so no single callback can make an
//     order's int64 sums overflow; larger values are refused (422, rule max).
//
// The fold (Evolve): snapshot fields come from the callback with the
// greatest totalDelegateNums, ties to the greater log position, then the
// greater event id. A snapshot field that callback did not send (null, ""
// or absent) keeps the value of the greatest callback that did, so a
// callback without state leaves a delegating order delegating; state and
// stateCode are null only while no callback has sent one. State 2 is final; aggregates count distinct event ids;
// lastCallbackAt is the greatest Metadata.ReceivedAt (RecordedAt when
// unset), formatted RFC 3339 in UTC. A delegation number counts as observed
// when some callback carries it as totalDelegateNums.
package energy
