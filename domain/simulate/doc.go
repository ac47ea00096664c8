// Package simulate generates realistic callback traffic of both platforms
// for `tidemark simulate`: a fleet of car-wash devices of every machine type
// and a set of TRON energy orders evolving over time, with retries (same
// bytes or re-serialised), reordering within a window and a share of bad
// input, plus the ground truth the read models must show afterwards.
//
// It is pure generation: deterministic for a seed, no I/O besides the
// io.Writer WriteTruth is given. Sending is the command's job.
//
// The ground truth is computed from the generator's own model of what it
// sent (not by the projection folds, which it is meant to check), over the
// valid callbacks Next has returned so far. To keep it exact:
//   - every car-wash callTime is distinct (one fleet-wide clock that only
//     moves forward), so "latest" never needs a tie rule;
//   - two distinct energy callbacks with the same totalDelegateNums (a
//     detention charge, a double charge, a deletion) carry the same state,
//     or state 2, which is final anyway;
//   - a retry is only emitted after its original, so an event counts when
//     its original is emitted.
//
// Device ids are (1 + Seed mod 100000) × 10000 + index, so runs with
// different seeds touch different devices; energy order ids embed the seed.
// Re-running the same seed and Start sends the same events again, which the
// service must store once: the truth still holds.
package simulate
