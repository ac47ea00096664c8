package projections

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// Locker hands out exclusive named leases. The runner applies a projection
// only while it holds the projection's lease, so each projection runs in
// exactly one process; rebuilds take a second lease per projection.
type Locker interface {
	// TryLock tries once. ok is false (and err nil) when another holder has it.
	TryLock(ctx context.Context, name string) (lease Lease, ok bool, err error)
}

// Lease is a held lock.
type Lease interface {
	// Lost is closed when the lock is lost without Release (its
	// connection died); the holder must stop at once.
	Lost() <-chan struct{}
	// Release gives the lock up.
	Release(ctx context.Context) error
}

// LocalLocker is an in-process Locker: for an in-memory SQLite database
// (only its process sees it), where there is no flock, and for tests.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]*localLease
}

// NewLocalLocker returns an in-process Locker.
func NewLocalLocker() *LocalLocker { return &LocalLocker{held: map[string]*localLease{}} }

// TryLock implements Locker.
func (l *LocalLocker) TryLock(_ context.Context, name string) (Lease, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, busy := l.held[name]; busy {
		return nil, false, nil
	}
	ls := &localLease{l: l, name: name, lost: make(chan struct{})}
	l.held[name] = ls
	return ls, true, nil
}

type localLease struct {
	l    *LocalLocker
	name string
	lost chan struct{}
	once sync.Once
}

func (s *localLease) Lost() <-chan struct{} { return s.lost }

func (s *localLease) Release(context.Context) error {
	s.once.Do(func() {
		s.l.mu.Lock()
		delete(s.l.held, s.name)
		s.l.mu.Unlock()
	})
	return nil
}

// PostgresLocker takes pg_try_advisory_lock on a dedicated connection per
// lease (not a pooled one: a session lock lives as long as its connection).
// A watcher pings that connection; when it fails the lease is lost, and the
// server has released the lock with the session, so another process can
// take over.
type PostgresLocker struct {
	cfg  *pgx.ConnConfig
	Ping time.Duration // how often a held lease checks its connection; default 500ms

	mu   sync.Mutex
	idle map[string]*pgx.Conn // connections of failed attempts, kept for the next try
}

// NewPostgresLocker returns a Locker opening its connections with cfg.
func NewPostgresLocker(cfg *pgx.ConnConfig) *PostgresLocker {
	return &PostgresLocker{cfg: cfg.Copy(), Ping: 500 * time.Millisecond, idle: map[string]*pgx.Conn{}}
}

// lockKey maps a lease name to an advisory lock key (FNV-1a, 64 bits).
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tidemark/" + name))
	return int64(h.Sum64())
}

// TryLock implements Locker. A standby retrying every second reuses its
// connection instead of opening one per attempt.
func (l *PostgresLocker) TryLock(ctx context.Context, name string) (Lease, bool, error) {
	key := lockKey(name)
	l.mu.Lock()
	conn := l.idle[name]
	delete(l.idle, name)
	l.mu.Unlock()
	var ok bool
	if conn != nil {
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			conn = nil // stale: try once more on a fresh connection
		}
	}
	if conn == nil {
		cfg := l.cfg.Copy()
		if cfg.RuntimeParams == nil {
			cfg.RuntimeParams = map[string]string{}
		}
		cfg.RuntimeParams["application_name"] = "tidemark-lock:" + name
		var err error
		if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return nil, false, fmt.Errorf("lock %s: connect: %w", name, err)
		}
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
	}
	if !ok {
		l.mu.Lock()
		if old := l.idle[name]; old != nil {
			_ = old.Close(context.WithoutCancel(ctx))
		}
		l.idle[name] = conn
		l.mu.Unlock()
		return nil, false, nil
	}
	ping := l.Ping
	if ping <= 0 {
		ping = 500 * time.Millisecond
	}
	ls := &pgLease{conn: conn, key: key, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go ls.watch(ping)
	return ls, true, nil
}

type pgLease struct {
	conn     *pgx.Conn // used only by watch until it returns, then by Release
	key      int64
	lost     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	lostOnce sync.Once
	relOnce  sync.Once
	relErr   error
}

func (s *pgLease) Lost() <-chan struct{} { return s.lost }

// watch blocks reading the lock connection (WaitForNotification), so a
// server-side end of the session (terminated, crashed, restarted) is seen
// at once; every interval it also pings, for a network that dies silently.
func (s *pgLease) watch(every time.Duration) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		wctx, wcancel := context.WithTimeout(ctx, every)
		err := s.conn.PgConn().WaitForNotification(wctx)
		wcancel()
		if ctx.Err() != nil {
			return // Release: the connection is still good for the unlock
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			err = s.conn.Ping(pctx)
			pcancel()
			if err == nil || ctx.Err() != nil {
				continue
			}
		}
		s.lostOnce.Do(func() { close(s.lost) })
		_ = s.conn.Close(context.Background())
		return
	}
}

func (s *pgLease) Release(ctx context.Context) error {
	s.relOnce.Do(func() {
		close(s.stop)
		<-s.done
		select {
		case <-s.lost:
			return // the session is gone, and its lock with it
		default:
		}
		if _, err := s.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, s.key); err != nil {
			s.relErr = fmt.Errorf("unlock: %w", err)
		}
		if err := s.conn.Close(context.WithoutCancel(ctx)); err != nil && s.relErr == nil {
			s.relErr = fmt.Errorf("close lock connection: %w", err)
		}
		s.lostOnce.Do(func() { close(s.lost) })
	})
	return s.relErr
}

// Close closes the connections kept for retries (held leases are released
// by their holders).
func (l *PostgresLocker) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, c := range l.idle {
		_ = c.Close(context.Background())
		delete(l.idle, name)
	}
}

// LockerFor returns the Locker fitting db: advisory locks over dedicated
// connections on PostgreSQL (configured like db's own connections); on
// SQLite file locks beside the database file (FileLocker), or an
// in-process one for an in-memory database or where there is no flock.
func LockerFor(ctx context.Context, db *bun.DB) (Locker, error) {
	f, err := flavorOf(db)
	if err != nil {
		return nil, err
	}
	if f != flavorPostgres {
		var path string
		if err := db.DB.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
			return nil, fmt.Errorf("locker: database file: %w", err)
		}
		if path == "" || !fileLocksWork {
			return NewLocalLocker(), nil
		}
		return NewFileLocker(path), nil
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("locker: %w", err)
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return errors.New("locker: the PostgreSQL handle is not pgx stdlib")
		}
		cfg = c.Conn().Config().Copy()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return NewPostgresLocker(cfg), nil
}
