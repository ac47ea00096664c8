package projections

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/domain"
)

// Config configures a Runner. Store and DB are required; the rest has defaults.
type Config struct {
	Store domain.EventStore
	// DB holds the read models, checkpoints and projection tables (the
	// writer handle on SQLite).
	DB *bun.DB
	// Projections to run; default Default().
	Projections []Projection
	// Locker elects the process that applies each projection; default
	// LockerFor(DB): advisory locks on PostgreSQL, file locks on SQLite.
	Locker Locker

	// BatchSize is the most events one catch-up or live transaction applies. Default 1000.
	BatchSize int
	// RebuildBatchSize is the read size of a rebuild's pass over the log
	// (about three batches are in memory at once). Default 5000.
	RebuildBatchSize int
	// FlushInterval is how long a live projection waits after each commit
	// (and after being woken by new events) before it reads its next
	// batch, so the events arriving meanwhile share one transaction. Under
	// load this trades a little lag for fewer, larger transactions, and
	// leaves the cores to ingest (README, "Performance"). Catch-up
	// batches, which are full, run back to back. Default 20ms.
	FlushInterval time.Duration
	// CacheStates is how many folded states (devices, orders) a live
	// projection keeps in memory between batches, so a batch need not read
	// and decode the rows it changes; 0 means the default 4096, < 0 none.
	CacheStates int
	// DocCacheBytes is about how much memory, per projection, the
	// DocCache (Runner.DocCache) may hold of served documents while this
	// process leads the projection; 0 means the default 16 MiB, < 0 none.
	DocCacheBytes int64
	// LockRetry is how often a standby tries to take a projection over. Default 1s.
	LockRetry time.Duration
	// Poison is what a projection does with an event it cannot apply. Default PoisonSkip.
	Poison PoisonPolicy
	// DropGrace is how long a replaced version's tables outlive the switch
	// (queries that resolved the old version finish on it). Default 5s.
	DropGrace time.Duration
	// Interpret maps a database error to the domain errors (the store
	// adapter's InterpretError). A batch whose writes the database refuses
	// for good (domain.ErrInvalidEvent, e.g. a value over an index's size
	// limit) is applied again one event at a time, and the event whose own
	// write is refused is a poison event, not a batch retried forever.
	// Nil keeps errors as they are.
	Interpret func(error) error

	Clock    domain.Clock
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here when set
}

// Defaults.
const (
	DefaultBatchSize        = 1000
	DefaultRebuildBatchSize = 5000
	DefaultFlushInterval    = 20 * time.Millisecond
	DefaultCacheStates      = 4096
	DefaultDocCacheBytes    = 16 << 20
	DefaultLockRetry        = time.Second
	DefaultDropGrace        = 5 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Projections == nil {
		c.Projections = Default()
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RebuildBatchSize == 0 {
		c.RebuildBatchSize = DefaultRebuildBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.LockRetry == 0 {
		c.LockRetry = DefaultLockRetry
	}
	if c.CacheStates == 0 {
		c.CacheStates = DefaultCacheStates
	}
	if c.DocCacheBytes == 0 {
		c.DocCacheBytes = DefaultDocCacheBytes
	}
	if c.Poison == "" {
		c.Poison = PoisonSkip
	}
	if c.DropGrace == 0 {
		c.DropGrace = DefaultDropGrace
	}
	if c.Clock == nil {
		c.Clock = domain.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Interpret == nil {
		c.Interpret = func(err error) error { return err }
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Store == nil:
		return errors.New("projections: Config.Store is required")
	case c.DB == nil:
		return errors.New("projections: Config.DB is required")
	case c.BatchSize < 1 || c.RebuildBatchSize < 1:
		return fmt.Errorf("projections: batch sizes must be positive (%d, %d)", c.BatchSize, c.RebuildBatchSize)
	case c.FlushInterval < 0 || c.LockRetry < 0 || c.DropGrace < 0:
		return errors.New("projections: negative interval")
	case !c.Poison.valid():
		return fmt.Errorf("projections: poison policy %q: want skip or stop", c.Poison)
	}
	if _, err := flavorOf(c.DB); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range c.Projections {
		if err := checkIdent(p.Name()); err != nil {
			return err
		}
		if seen[p.Name()] {
			return fmt.Errorf("projections: two projections named %s", p.Name())
		}
		seen[p.Name()] = true
		if p.Version() < 1 {
			return fmt.Errorf("projections: %s: version must be >= 1", p.Name())
		}
		for _, t := range p.Tables() {
			if err := t.validate(); err != nil {
				return err
			}
			// the longest suffix is asof_YYYYMMDDTHHMMSS
			if len(physical(t.Name, asOfSuffix(time.Time{}))) > maxIdent {
				return fmt.Errorf("projections: table name %s too long", t.Name)
			}
		}
	}
	return nil
}

// Default is the projections Tidemark serves: devices, orders and ledger.
func Default() []Projection { return []Projection{Devices{}, Orders{}, Ledger{}} }
