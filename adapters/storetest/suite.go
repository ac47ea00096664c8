package storetest

import (
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// Factory makes a fresh, empty database for one test and returns a function
// that opens a NEW store (with its own connection pool) on that database
// each time it is called. The suite closes the stores it opens.
type Factory func(t testing.TB) func() domain.EventStore

// Run checks the EventStore contract, one subtest per concern.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() domain.EventStore)
	}{
		{"ExpectedVersion", testExpectedVersion},
		{"Idempotency", testIdempotency},
		{"Atomicity", testAtomicity},
		{"ReadStream", testReadStream},
		{"ReadAll", testReadAll},
		{"Head", testHead},
		{"WaitForEvents", testWaitForEvents},
		{"AppendBatch", testAppendBatch},
		{"Import", testImport},
		{"RoundTrip", testRoundTrip},
		{"RecordedAt", testRecordedAt},
		{"InvalidEvents", testInvalidEvents},
		{"GroupCommit", testGroupCommit},
		{"ScanAll", testScanAll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, opener(t, f))
		})
	}
}

// opener makes a fresh database and returns a function opening stores on
// it, each closed when the test ends.
func opener(t testing.TB, f Factory) func() domain.EventStore {
	t.Helper()
	open := f(t)
	return func() domain.EventStore {
		t.Helper()
		s := open()
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
}
