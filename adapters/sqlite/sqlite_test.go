package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/domain"
)

func open(t *testing.T, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var seq atomic.Int64

// event is a new event with a fresh id.
func event() domain.NewEvent {
	data := []byte(fmt.Sprintf(`{"n":%d}`, seq.Add(1)))
	return domain.NewEvent{ID: domain.EventID("sqlite-test", data), Type: "test.Event", Data: data, Raw: data}
}

func TestOpenCreatesDirectoryAndSetsPragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a dir", "with?odd#chars%20", "tidemark.db")
	s := open(t, path, sqlite.Options{})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %s: %v", path, err)
	}
	if s.Path() != path {
		t.Fatalf("Path() = %q, want %q", s.Path(), path)
	}
	var mode string
	var sync, fk int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.DB().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.DB().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	var version int
	if err := s.ReaderDB().QueryRowContext(ctx, `SELECT max(version) FROM tidemark_migrations`).Scan(&version); err != nil || version < 1 {
		t.Fatalf("migrations: max version %d, %v", version, err)
	}
	if _, err := s.ReaderDB().ExecContext(ctx, `DELETE FROM events`); err == nil {
		t.Fatal("the reader pool accepted a write")
	}
	// Reopening an existing file applies nothing twice.
	open(t, path, sqlite.Options{})
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []sqlite.Options{{PollInterval: -1}, {BusyTimeout: -1}, {ReadConns: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{PollInterval: -1}); err == nil {
		t.Fatal("Open accepted a negative PollInterval")
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

func TestRecordedAtComesFromTheClock(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678912345, time.FixedZone("X", 3600))
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{Clock: fixedClock{at}})
	if _, err := s.Append(context.Background(), domain.AppendRequest{Stream: "s", Expected: domain.NoStream, Events: []domain.NewEvent{event()}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(context.Background(), domain.Start, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.UTC().Truncate(time.Microsecond); !got[0].RecordedAt.Equal(want) || got[0].RecordedAt.Location() != time.UTC {
		t.Fatalf("RecordedAt = %v, want %v (microseconds, UTC)", got[0].RecordedAt, want)
	}
}

// A request that fails after some of its rows are inserted (here a trigger
// aborts the second insert) is rolled back to its savepoint; the others commit.
func TestSavepointUndoesAPartlyWrittenRequest(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if _, err := s.DB().ExecContext(ctx, `CREATE TRIGGER boom BEFORE INSERT ON events
		WHEN NEW.type = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	boom := event()
	boom.Type = "boom"
	first, okEvent := event(), event()
	results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{
		{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{first, boom}},
		{Stream: "b", Expected: domain.NoStream, Events: []domain.NewEvent{okEvent}},
	})
	if err != nil {
		t.Fatalf("batch error: %v", err)
	}
	if errs[0] == nil || errs[1] != nil || len(results[1].Positions) != 1 {
		t.Fatalf("outcomes: %v; want request 0 to fail alone", errs)
	}
	all, err := s.ReadAll(ctx, domain.Start, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != okEvent.ID {
		t.Fatalf("log holds %d events; want only the other request's event", len(all))
	}
	// Alone in its transaction, the same request writes nothing either.
	if _, err := s.Append(ctx, domain.AppendRequest{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{first, boom}}); err == nil {
		t.Fatal("append with an aborting insert succeeded")
	}
	if all, _ := s.ReadAll(ctx, domain.Start, 10); len(all) != 1 {
		t.Fatalf("log holds %d events, want 1", len(all))
	}
}

// A row SQLite skips silently (here a trigger's RAISE(IGNORE)) is noticed:
// its request fails alone, the rest of the batch is written.
func TestRefusedRowFailsItsRequestOnly(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if _, err := s.DB().ExecContext(ctx, `CREATE TRIGGER skip BEFORE INSERT ON events
		WHEN NEW.type = 'skip' BEGIN SELECT RAISE(IGNORE); END`); err != nil {
		t.Fatal(err)
	}
	skipped := event()
	skipped.Type = "skip"
	kept1, kept2 := event(), event()
	results, errs, err := s.AppendBatch(ctx, []domain.AppendRequest{
		{Stream: "a", Expected: domain.NoStream, Events: []domain.NewEvent{kept1}},
		{Stream: "b", Expected: domain.NoStream, Events: []domain.NewEvent{event(), skipped}},
		{Stream: "a", Expected: 1, Events: []domain.NewEvent{kept2}},
	})
	if err != nil {
		t.Fatalf("batch error: %v", err)
	}
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], domain.ErrWrongExpectedVersion) {
		t.Fatalf("outcomes %v: want only request 1 to fail", errs)
	}
	if results[2].Versions[0] != 2 || !results[0].Positions[0].Less(results[2].Positions[0]) {
		t.Fatalf("results %+v", results)
	}
	all, _ := s.ReadAll(ctx, domain.Start, 10)
	if len(all) != 2 || all[0].ID != kept1.ID || all[1].ID != kept2.ID {
		t.Fatalf("log holds %d events, want the two of stream a", len(all))
	}
}

// An imported event whose (stream, version) is held by another id fails the
// whole import instead of being dropped silently.
func TestImportCollisionFailsTheImport(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if _, err := s.Append(ctx, domain.AppendRequest{Stream: "s", Expected: domain.NoStream, Events: []domain.NewEvent{event()}}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Import(ctx, []domain.ImportEvent{
		{Stream: "t", StreamVersion: 1, NewEvent: event()},
		{Stream: "s", StreamVersion: 1, NewEvent: event()}, // s v1 is taken
	})
	if !errors.Is(err, domain.ErrWrongExpectedVersion) || n != 0 {
		t.Fatalf("import = %d, %v; want 0, ErrWrongExpectedVersion", n, err)
	}
	if all, _ := s.ReadAll(ctx, domain.Start, 10); len(all) != 1 {
		t.Fatalf("log holds %d events after a failed import, want 1", len(all))
	}
}

// Another handle holding the write lock longer than BusyTimeout makes an
// append fail with ErrUnavailable, not hang; once released, appends work.
func TestBusyIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	s := open(t, path, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	holder := open(t, path, sqlite.Options{})
	tx, err := holder.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	req := domain.AppendRequest{Stream: "s", Expected: domain.NoStream, Events: []domain.NewEvent{event()}}
	if _, err := s.Append(ctx, req); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("append while locked: %v, want ErrUnavailable", err)
	}
	if _, err := s.Import(ctx, []domain.ImportEvent{{Stream: "i", StreamVersion: 1, NewEvent: event()}}); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("import while locked: %v, want ErrUnavailable", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, req); err != nil {
		t.Fatalf("append after the lock is released: %v", err)
	}
}

func TestWaitWakesOnOwnCommitAndClose(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{PollInterval: time.Hour})
	woke := make(chan error, 1)
	go func() { woke <- s.WaitForEvents(ctx, domain.Start) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Append(ctx, domain.AppendRequest{Stream: "s", Expected: domain.NoStream, Events: []domain.NewEvent{event()}}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-woke:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait not woken by a commit of the same store")
	}

	head, _ := s.Head(ctx)
	go func() { woke <- s.WaitForEvents(ctx, head) }()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-woke:
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("wait on a closed store: %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait not woken by Close")
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.Append(ctx, domain.AppendRequest{Stream: "s", Events: []domain.NewEvent{event()}})
	_, rerr := s.ReadAll(ctx, domain.Start, 1)
	_, herr := s.Head(ctx)
	_, ierr := s.Import(ctx, nil)
	for _, e := range []error{err, rerr, herr, ierr} {
		if !errors.Is(e, domain.ErrUnavailable) {
			t.Fatalf("after Close: %v, want ErrUnavailable", e)
		}
	}
}

// Data is stored as JSON text, so other SQLite tools (and read models) can use json_extract on it.
func TestDataIsQueryableJSON(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{})
	e := event()
	e.Data = json.RawMessage(`{"iotId":"dev-1","n":2}`)
	if _, err := s.Append(ctx, domain.AppendRequest{Stream: "s", Expected: domain.NoStream, Events: []domain.NewEvent{e}}); err != nil {
		t.Fatal(err)
	}
	var iot string
	if err := s.ReaderDB().QueryRowContext(ctx, `SELECT json_extract(data, '$.iotId') FROM events`).Scan(&iot); err != nil || iot != "dev-1" {
		t.Fatalf("json_extract = %q, %v", iot, err)
	}
}
