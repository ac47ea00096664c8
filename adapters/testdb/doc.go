// Package testdb gives tests real databases: a fresh PostgreSQL database
// per call (dropped when the test ends) and an SQLite file in the test's
// temporary directory. It never mocks and never skips silently: when no
// PostgreSQL can be had, the test fails saying how to provide one.
//
// The PostgreSQL server is, in order: TIDEMARK_TEST_DATABASE_URL; the
// local server at postgres://postgres@127.0.0.1:5432/postgres if it
// answers; else a throwaway cluster started once per test process from the
// local binaries (/usr/lib/postgresql/*/bin) in a temporary directory on a
// free port. That cluster dies with the test process; its directory is
// removed only by Main, so packages that may need it should have
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
package testdb
