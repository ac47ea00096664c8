package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/migrations"
)

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	path   string
	opts   Options
	writer *sql.DB // exactly one connection: SQLite has one writer at a time
	reader *sql.DB
	bunW   *bun.DB
	bunR   *bun.DB

	notify    notifier
	closed    atomic.Bool
	done      chan struct{} // closed by Close: wakes waiters
	closeOnce sync.Once
	closeErr  error
}

var _ domain.EventStore = (*Store)(nil)

// Open opens (creating if needed) the SQLite file at path, applies the
// migrations and returns a store over it. The parent directory is created.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	s := &Store{path: path, opts: opts, done: make(chan struct{})}
	s.notify.init()

	var err error
	// The writer sets WAL first; readers find the file already in WAL mode.
	s.writer, err = sql.Open("sqlite", dsn(path, opts, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if err := s.writer.PingContext(ctx); err != nil {
		_ = s.writer.Close() // the open failed: that error is the one to tell
		return nil, fmt.Errorf("sqlite: open %s: %w", path, interpretError(err))
	}
	if err := migrations.Apply(ctx, s.writer, migrations.SQLite); err != nil {
		_ = s.writer.Close() // the open failed: that error is the one to tell
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s.reader, err = sql.Open("sqlite", dsn(path, opts, false))
	if err != nil {
		_ = s.writer.Close() // the open failed: that error is the one to tell
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.reader.SetMaxOpenConns(opts.ReadConns)
	s.reader.SetMaxIdleConns(opts.ReadConns)
	s.reader.SetConnMaxIdleTime(5 * time.Minute)
	s.bunW = bun.NewDB(s.writer, sqlitedialect.New())
	s.bunR = bun.NewDB(s.reader, sqlitedialect.New())
	return s, nil
}

// dsn builds a URI filename for modernc.org/sqlite. Pragmas run on every new
// connection; _txlock=immediate makes BeginTx take the write lock at once.
func dsn(path string, opts Options, writer bool) string {
	// In a URI filename '%', '?' and '#' must be escaped; the rest is literal.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", opts.BusyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
	}
	if writer {
		q = append(q,
			"_pragma=journal_mode(WAL)",
			"_pragma=synchronous(FULL)",
			"_txlock=immediate",
		)
		// Checkpoints run in the committing connection, i.e. in the writer,
		// after a commit that leaves the WAL over wal_autocheckpoint pages.
		// SQLite's 1000 pages meant a checkpoint every few hundred appends;
		// 10,000 (40 MiB) checkpoints a tenth as often, and a page written
		// several times meanwhile is copied to the database once (measured:
		// about half the checkpoint CPU). journal_size_limit truncates the
		// WAL back to 64 MiB after it restarts.
		q = append(q,
			"_pragma=wal_autocheckpoint(10000)",
			"_pragma=journal_size_limit(67108864)",
		)
	} else {
		q = append(q, "_pragma=query_only(1)")
	}
	return "file:" + esc + "?" + strings.Join(q, "&")
}

// DB is bun over the writer connection: read-model projections write through
// it, in the same file and the same single-writer queue as the log. Its
// transactions begin IMMEDIATE, i.e. take the write lock at once; read
// through ReaderDB.
func (s *Store) DB() *bun.DB { return s.bunW }

// ReaderDB is bun over the reader pool (query_only connections).
func (s *Store) ReaderDB() *bun.DB { return s.bunR }

// Path is the database file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close releases the connections and wakes every WaitForEvents. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.done)
		if err := errors.Join(s.reader.Close(), s.writer.Close()); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("sqlite: store closed: %w", domain.ErrUnavailable)

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}
