// Package storetest is the conformance suite every domain.EventStore adapter
// runs: the same assertions, written once, against PostgreSQL, SQLite and
// KurrentDB. An adapter's test supplies a Factory and calls Run, RunStress
// and RunBenchmarks:
//
//	func TestStore(t *testing.T) { storetest.Run(t, factory) }
//
// Each subtest gets a fresh, empty database from the Factory, so subtests
// never see each other's events. Files are named after the concern they
// check (expected_version.go, idempotency.go, read_all.go, ...).
package storetest
