// Package billing reconciles the energy deductions (domain.md §2): the
// reconciliation report built in one pass over the event log, and the
// comparison of a platform statement with the ledger. It is pure: standard
// library, domain and domain/energy only; callers feed it events and bytes.
//
// The report folds each order's events with energy.Evolve and lists
// energy.Anomalies of the result, so its figures are those of the orders
// read model by construction. Choices made here:
//
//   - Window: an event belongs to [from, to) by its receive time
//     (Metadata.ReceivedAt, else RecordedAt). Per-order figures and
//     anomalies come from the order's events in the window, except
//     DELEGATION_GAP, judged on everything the order reported up to the
//     window's end: a number delivered before the window was not lost, one
//     still missing at the window's end is listed.
//   - Money is int64 sun end to end; a grand total that would not fit
//     int64 is an error (ErrOverflow) from Builder.Add, never a wrapped or
//     saturated number.
//   - An event the fold cannot read is an error from Builder.Add: a report
//     is exact or not given.
//   - Statement CSV: a header naming orderId, hash and amountSun (time
//     optional), case-insensitive, in any order, other columns ignored; or
//     no header, when the first row is data (3 or 4 cells, the third an
//     integer): then the columns are orderId,hash,amountSun[,time]. amountSun is an integer number of sun > 0; hash is empty or 64 hex
//     digits; time is empty, RFC 3339 (a space may stand for the T) or Unix
//     seconds or milliseconds; a time without an offset is refused, not
//     taken as UTC. Every other row is a RowError
//     with its line number (at most MaxRowErrors listed, then one summary
//     entry). A UTF-8 BOM, blank lines and rows of empty cells are skipped.
//   - Matching: a statement row and a ledger entry match on (orderId, hash),
//     hashes compared case-insensitively; within one key, equal amounts pair
//     first (file order against log order), remaining pairs are
//     AMOUNT_MISMATCH, the rest MISSING_CALLBACK or NOT_ON_STATEMENT. Rows
//     and entries with an empty hash match on (orderId, amount) in order
//     and are never an AMOUNT_MISMATCH.
//   - The ledger passed to Compare is taken as the window's ledger (Ledger
//     collects it by receive time, which energy.LedgerEntry does not carry);
//     from and to limit the statement rows that carry a time.
//   - CSV output follows RFC 4180 (CRLF, quoting by encoding/csv). A text
//     cell starting with = + - @ tab or CR gets a leading apostrophe so a
//     spreadsheet shows it instead of evaluating it; numeric cells are
//     written as numbers.
package billing
