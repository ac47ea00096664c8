package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// RebuildOptions says what to rebuild.
type RebuildOptions struct {
	// Projections by name; empty means all of the runner's.
	Projections []string
	// Until, when set, builds a point-in-time copy instead: the events
	// recorded at or before Until, into tables suffixed _asof_YYYYMMDDTHHMMSS,
	// leaving the served version alone.
	Until time.Time
	// Progress, when set, is called about every 200ms and at each phase
	// change, never concurrently (e.g. to draw a progress bar).
	Progress func(Progress)
	// MemoryLimit, when > 0, is a soft limit (bytes) on the Go heap for the
	// rebuild's duration (runtime/debug.SetMemoryLimit; process-wide, so
	// meant for a process that only rebuilds, like the rebuild command).
	// The fold holds every device and order state; with Go's default GC
	// pacing the heap can grow to twice that before a collection.
	MemoryLimit int64
}

// RebuildResult is what a rebuild made of one projection.
type RebuildResult struct {
	Projection string
	Version    int      // the new served version; 0 for a point-in-time copy
	Tables     []string // its tables
	Events     int64    // events of the projection folded in the pass over the log
	Poison     int      // events recorded as poison (policy skip)
	Position   domain.Position
	Duration   time.Duration
}

// ErrRebuildInProgress: a rebuild of the projection is already running
// (in this process or another).
var ErrRebuildInProgress = errors.New("rebuild already in progress")

// Rebuild runs a rebuild with a Runner made from cfg, for callers that do
// not run one (the rebuild command); see Runner.Rebuild.
func Rebuild(ctx context.Context, cfg Config, opts RebuildOptions) ([]RebuildResult, error) {
	var res []RebuildResult
	err := withRunner(cfg, func(r *Runner) (err error) {
		res, err = r.Rebuild(ctx, opts)
		return err
	})
	return res, err
}

// withRunner runs fn with a Runner made from cfg, for commands that do not
// run one, and closes the lock connections it opened.
func withRunner(cfg Config, fn func(*Runner) error) error {
	r, err := New(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if pl, ok := r.locker.(*PostgresLocker); ok && cfg.Locker == nil {
			pl.Close()
		}
	}()
	return fn(r)
}

// Rebuild rebuilds projections blue/green and returns when the new
// versions are served and the old ones dropped: a new version is built
// into its own tables from the start of the log at full speed (one pass
// over the log feeding every projection's fold in memory, then bulk
// writes: COPY on PostgreSQL, multi-row inserts on SQLite), catches up
// from where the pass ended, and becomes the served version in one
// transaction; the old version serves queries until then and is dropped
// DropGrace later. With opts.Until it builds a point-in-time copy instead.
func (r *Runner) Rebuild(ctx context.Context, opts RebuildOptions) ([]RebuildResult, error) {
	ps, err := r.resolve(opts.Projections)
	if err != nil {
		return nil, err
	}
	leases, err := r.takeRebuildLeases(ctx, ps)
	if err != nil {
		return nil, err
	}
	res, dropped, err := r.rebuildLeased(ctx, ps, leases, opts)
	if err != nil {
		return res, err
	}
	select {
	case <-dropped:
	case <-ctx.Done():
	}
	return res, nil
}

// StartRebuild starts a rebuild in the background (the admin endpoint's
// 202) and returns once the projections' rebuild leases are held, or
// ErrRebuildInProgress / ErrUnknownProjection. Progress shows in Status.
// The rebuild ends with Run's context (it is not tied to the caller's).
func (r *Runner) StartRebuild(opts RebuildOptions) error {
	ps, err := r.resolve(opts.Projections)
	if err != nil {
		return err
	}
	r.mu.Lock()
	ctx := r.runCtx
	r.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	leases, err := r.takeRebuildLeases(ctx, ps)
	if err != nil {
		return err
	}
	go func() {
		if _, _, err := r.rebuildLeased(ctx, ps, leases, opts); err != nil {
			r.cfg.Logger.Error("rebuild failed", "err", err)
		}
	}()
	return nil
}

// rebuild is Rebuild for given projections, not waiting for the drop (the
// runner's own rebuild on a code version change goes live at once).
func (r *Runner) rebuild(ctx context.Context, ps []Projection, opts RebuildOptions) ([]RebuildResult, error) {
	leases, err := r.takeRebuildLeases(ctx, ps)
	if err != nil {
		return nil, err
	}
	res, _, err := r.rebuildLeased(ctx, ps, leases, opts)
	return res, err
}

func (r *Runner) resolve(names []string) ([]Projection, error) {
	if len(names) == 0 {
		out := make([]Projection, len(r.procs))
		for i, pr := range r.procs {
			out[i] = pr.p
		}
		return out, nil
	}
	var out []Projection
	seen := map[string]bool{}
	for _, n := range names {
		pr, ok := r.byName[n]
		if !ok {
			return nil, fmt.Errorf("%q: %w", n, ErrUnknownProjection)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, pr.p)
		}
	}
	return out, nil
}

func (r *Runner) takeRebuildLeases(ctx context.Context, ps []Projection) ([]Lease, error) {
	locker, err := r.getLocker(ctx)
	if err != nil {
		return nil, err
	}
	var leases []Lease
	for _, p := range ps {
		l, ok, err := locker.TryLock(ctx, "rebuild:"+p.Name())
		if err == nil && !ok {
			err = fmt.Errorf("%s: %w", p.Name(), ErrRebuildInProgress)
		}
		if err != nil {
			releaseAll(leases)
			return nil, err
		}
		leases = append(leases, l)
	}
	return leases, nil
}

func releaseAll(leases []Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, l := range leases {
		_ = l.Release(ctx)
	}
}

// build is one projection's part of a rebuild.
type build struct {
	p       Projection
	version int // 0 for a point-in-time copy
	old     int // version served when the build started
	suffix  string
	names   map[string]string
	fold    Fold
	events  int64
	poison  []PoisonEvent
	end     domain.Position // last event of the pass
	started time.Time
	tgt     *target
	out     *rowWriters // writers of rows drained during the pass, if the fold drains
}

// rebuildLeased runs the rebuild while holding the leases; it releases
// them after the old versions are dropped (dropped is closed then).
func (r *Runner) rebuildLeased(ctx context.Context, ps []Projection, leases []Lease, opts RebuildOptions) (
	[]RebuildResult, <-chan struct{}, error) {
	dropped := make(chan struct{})
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name()
	}
	if opts.MemoryLimit > 0 {
		prev := debug.SetMemoryLimit(opts.MemoryLimit)
		defer debug.SetMemoryLimit(prev)
	}
	tr := newTracker(names, opts, r.cfg.Clock.Now())
	r.setBuilds(names, tr)
	tr.emit() // the first phase, however short
	stopReport := tr.report()
	finish := func(err error) {
		if err != nil {
			tr.fail(err)
			for _, n := range names {
				r.byName[n].setError(fmt.Errorf("rebuild: %w", err))
			}
			r.cfg.Logger.Error("rebuild failed; the served versions are unchanged", "projections", names, "err", err)
		} else {
			tr.setPhase(PhaseDone)
		}
		stopReport()
		r.clearBuilds(names)
	}

	builds, err := r.setupBuilds(ctx, ps, opts.Until)
	if err == nil {
		tr.setVersion(builds[0].version)
		err = r.pass(ctx, builds, opts.Until, tr)
	}
	if err == nil {
		tr.setPhase(PhaseWriting)
		err = r.writeBuilds(ctx, builds)
	}
	if err == nil && opts.Until.IsZero() {
		tr.setPhase(PhaseCatchingUp)
		for _, b := range builds {
			if err = r.catchUpAndSwitch(ctx, b, tr); err != nil {
				break
			}
		}
	}
	if err != nil {
		finish(err)
		releaseAll(leases)
		close(dropped)
		return nil, dropped, err
	}
	res := make([]RebuildResult, len(builds))
	for i, b := range builds {
		res[i] = RebuildResult{Projection: b.p.Name(), Version: b.version, Events: b.events, Poison: len(b.poison),
			Position: b.end, Duration: time.Since(b.started)}
		if b.tgt != nil {
			res[i].Position = b.tgt.dbPos
		}
		for _, t := range b.p.Tables() {
			res[i].Tables = append(res[i].Tables, b.names[t.Name])
		}
		r.cfg.Logger.Info("rebuild done", "projection", b.p.Name(), "version", b.version,
			"events", b.events, "seconds", res[i].Duration.Seconds())
	}
	finish(nil)
	go func() {
		defer close(dropped)
		defer releaseAll(leases)
		if !opts.Until.IsZero() {
			return
		}
		sleep(ctx, r.cfg.DropGrace)
		if ctx.Err() != nil {
			return // left for the next rebuild to drop
		}
		for _, b := range builds {
			if err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
				if err := dropTables(ctx, q, b.p, versionSuffix(b.old)); err != nil {
					return err
				}
				return deleteCheckpoint(ctx, q, b.p.Name(), b.old)
			}); err != nil {
				r.cfg.Logger.Warn("drop replaced projection version", "projection", b.p.Name(), "version", b.old, "err", err)
			}
		}
	}()
	return res, dropped, nil
}

// setupBuilds creates each build's empty tables (no key or indexes yet on
// PostgreSQL) and, for a blue/green build, marks it as building.
func (r *Runner) setupBuilds(ctx context.Context, ps []Projection, until time.Time) ([]*build, error) {
	var out []*build
	for _, p := range ps {
		b := &build{p: p, fold: p.NewFold(), started: time.Now()}
		err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
			now := r.cfg.Clock.Now()
			if !until.IsZero() {
				b.suffix = asOfSuffix(until)
				return createTables(ctx, q, p, b.suffix, false)
			}
			if _, err := bootstrap(ctx, q, p, now); err != nil {
				return err
			}
			v, _, err := loadVersions(ctx, q, p.Name(), r.f.lockSuffix(true))
			if err != nil {
				return err
			}
			b.old, b.version = v.Served, v.Served+1
			b.suffix = versionSuffix(b.version)
			// Leftovers of a rebuild that died: its building version, and a
			// replaced version it did not get to drop.
			for _, stale := range []int{v.Building, v.Served - 1} {
				if stale > 0 && stale != v.Served {
					if err := dropTables(ctx, q, p, versionSuffix(stale)); err != nil {
						return err
					}
					if err := deleteCheckpoint(ctx, q, p.Name(), stale); err != nil {
						return err
					}
				}
			}
			if _, err := q.exec(ctx, `UPDATE projection_versions SET building_version = ?, building_code_version = ?,
				updated_at = ? WHERE name = ?`, b.version, p.Version(), r.f.timeArg(now), p.Name()); err != nil {
				return fmt.Errorf("mark %s v%d building: %w", p.Name(), b.version, err)
			}
			if err := deleteCheckpoint(ctx, q, p.Name(), b.version); err != nil {
				return err
			}
			return createTables(ctx, q, p, b.suffix, false)
		})
		if err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", p.Name(), err)
		}
		b.names = tableNames(p, b.suffix)
		out = append(out, b)
	}
	return out, nil
}

// pass reads the log up to the head as it was at the start and feeds
// every build's fold, each in its own goroutine; reading runs ahead by a
// batch. With a domain.LogScanner, projections whose rows each depend on
// one stream (streamScoped: orders, ledger) get that stream's events
// stream by stream from a scan of their own and write finished rows as
// they go (see rowWriters), so their memory does not grow with the log; the others share one scan in log order (holding their states to
// the end). Without a scanner, one ReadAll pass feeds them all.
func (r *Runner) pass(ctx context.Context, builds []*build, until time.Time, tr *tracker) error {
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	tr.setTotal(head.Seq)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		firstErr error
		errOnce  sync.Once
		folds    sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}

	scanner, _ := r.cfg.Store.(domain.LogScanner)
	var logOrder []*build
	byStream := map[string][]*build{} // by stream prefix
	for _, b := range builds {
		ss, ok := b.p.(streamScoped)
		streamed := ok && scanner != nil
		if streamed {
			byStream[ss.streamPrefix()] = append(byStream[ss.streamPrefix()], b)
		} else {
			logOrder = append(logOrder, b)
		}
		b.out = r.startRowWriters(ctx, b, streamed, fail)
	}
	// Each build's fold goroutine; the readers send to these.
	inbox := map[*build]chan []domain.Event{}
	for _, b := range builds {
		ch := make(chan []domain.Event, 1)
		inbox[b] = ch
		folds.Add(1)
		go func() {
			defer folds.Done()
			for batch := range ch {
				if ctx.Err() != nil {
					continue // drain
				}
				if err := r.foldBatch(ctx, b, batch, until); err != nil {
					fail(fmt.Errorf("rebuild %s: %w", b.p.Name(), err))
				}
			}
			if b.out != nil && ctx.Err() == nil { // the last stream is finished too
				if err := b.out.drain(ctx, b.fold, true); err != nil {
					fail(fmt.Errorf("rebuild %s: %w", b.p.Name(), err))
				}
			}
		}()
	}
	feeder := func(to []*build, countSeq bool) func([]domain.Event) error {
		return func(batch []domain.Event) error {
			for _, b := range to {
				select {
				case inbox[b] <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			var seq int64
			if countSeq {
				seq = batch[len(batch)-1].Position.Seq
			}
			tr.add(int64(len(batch)), seq)
			return nil
		}
	}
	var readers sync.WaitGroup
	read := func(fn func() error) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := fn(); err != nil {
				fail(err)
			}
		}()
	}
	if len(logOrder) > 0 {
		feed := feeder(logOrder, true)
		read(func() error {
			if scanner == nil {
				return r.readPass(ctx, head, feed)
			}
			return scanner.ScanAll(ctx, domain.Scan{Through: head, Batch: r.cfg.RebuildBatchSize,
				TypePrefix: commonTypePrefix(logOrder)}, feed)
		})
	}
	for prefix, to := range byStream {
		feed := feeder(to, false)
		read(func() error {
			return scanner.ScanAll(ctx, domain.Scan{Through: head, Batch: r.cfg.RebuildBatchSize,
				ByStream: true, StreamPrefix: prefix, TypePrefix: commonTypePrefix(to)}, feed)
		})
	}
	readers.Wait()
	for _, ch := range inbox {
		close(ch)
	}
	folds.Wait()
	for _, b := range builds {
		if b.out != nil {
			if err := b.out.close(); err != nil {
				fail(fmt.Errorf("rebuild %s: write: %w", b.p.Name(), err))
			}
		}
		b.end = head // every event up to the head was read
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// commonTypePrefix is the event type prefix all the builds' projections
// declare (typePrefixed), or "" for all events.
func commonTypePrefix(builds []*build) string {
	prefix := ""
	for i, b := range builds {
		tp, ok := b.p.(typePrefixed)
		if !ok || (i > 0 && tp.typePrefix() != prefix) {
			return ""
		}
		prefix = tp.typePrefix()
	}
	return prefix
}

// readPass is the pass's reading with ReadAll, for stores without a
// domain.LogScanner: batches up to head, to feed.
func (r *Runner) readPass(ctx context.Context, head domain.Position, feed func([]domain.Event) error) error {
	pos := domain.Start
	for pos.Less(head) && ctx.Err() == nil {
		batch, err := r.cfg.Store.ReadAll(ctx, pos, r.cfg.RebuildBatchSize)
		if err != nil {
			return err
		}
		for len(batch) > 0 && head.Less(batch[len(batch)-1].Position) { // stop at the head; catch-up does the rest
			batch = batch[:len(batch)-1]
		}
		if len(batch) == 0 {
			return nil
		}
		pos = batch[len(batch)-1].Position
		for i := range batch {
			batch[i].Raw = nil // the folds read Data; let the bodies go early
		}
		if err := feed(batch); err != nil {
			return err
		}
		if len(batch) < r.cfg.RebuildBatchSize {
			return nil
		}
	}
	return ctx.Err()
}

func (r *Runner) foldBatch(ctx context.Context, b *build, batch []domain.Event, until time.Time) error {
	for _, e := range batch {
		if !b.p.Handles(e.Type) || (!until.IsZero() && e.RecordedAt.After(until)) {
			continue
		}
		if err := b.fold.Apply(e); err != nil {
			pe := PoisonEvent{Projection: b.p.Name(), Version: b.version, EventID: e.ID, EventType: e.Type,
				Position: e.Position, Error: err.Error(), Policy: r.cfg.Poison}
			if r.cfg.Poison == PoisonStop {
				// Recorded, but the rebuild fails: the old version stays served.
				_ = r.inTx(ctx, func(q sqlq, _ rawConn) error { return recordPoison(ctx, q, pe, r.cfg.Clock.Now()) })
				return &poisonStop{ev: pe, err: err}
			}
			b.poison = append(b.poison, pe)
			continue
		}
		b.events++
	}
	if b.out != nil { // streams before the batch's last are finished
		return b.out.drain(ctx, b.fold, false)
	}
	return nil
}

// writeBuilds writes what the folds hold, adds keys and indexes, records
// poison events and sets the new version's checkpoint at the end of the
// pass: on PostgreSQL in one transaction per build (builds in parallel),
// on SQLite the rows in short transactions first. Nothing serves the new
// tables and they have no checkpoint before the last commit, so a crash
// in between only means the next rebuild starts over.
func (r *Runner) writeBuilds(ctx context.Context, builds []*build) error {
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.f == flavorSQLite { // the rows in short transactions, SQLite's writer stays available
				errs[i] = b.fold.Flush(ctx, &Tx{q: sqlq{r.f, r.cfg.DB.DB}, names: b.names, mode: modeBulk,
					chunked: func(ctx context.Context, fn func(q sqlq) error) error {
						return r.inTx(ctx, func(q sqlq, _ rawConn) error { return fn(q) })
					}}, true)
			}
			if errs[i] == nil {
				errs[i] = r.inTx(ctx, func(q sqlq, raw rawConn) error {
					if r.f == flavorPostgres { // COPY, in the same transaction as the rest
						if err := b.fold.Flush(ctx, &Tx{q: q, names: b.names, mode: modeBulk, rawPG: raw}, true); err != nil {
							return err
						}
					}
					if err := finishTables(ctx, q, b.p, b.suffix); err != nil {
						return err
					}
					now := r.cfg.Clock.Now()
					for _, pe := range b.poison {
						if err := recordPoison(ctx, q, pe, now); err != nil {
							return err
						}
					}
					if b.version == 0 {
						return nil
					}
					return setCheckpoint(ctx, q, b.p.Name(), b.version, b.end, now)
				})
			}
			if errs[i] != nil {
				errs[i] = fmt.Errorf("rebuild %s: write: %w", b.p.Name(), errs[i])
			}
			b.fold = nil // let the states go
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// catchUpAndSwitch applies the events after the pass to the new version
// in batches, then, in one transaction, the last ones plus the switch of
// the served version.
func (r *Runner) catchUpAndSwitch(ctx context.Context, b *build, tr *tracker) error {
	tgt := &target{p: b.p, version: b.version, names: b.names, dbPos: b.end, pos: b.end, written: time.Now(),
		policy: r.cfg.Poison}
	b.tgt = tgt
	for {
		events, err := r.cfg.Store.ReadAll(ctx, tgt.pos, r.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(events) == r.cfg.BatchSize {
			if err := r.applyBatch(ctx, tgt, events); err != nil {
				return fmt.Errorf("rebuild %s: catch up: %w", b.p.Name(), err)
			}
			continue
		}
		tr.setPhase(PhaseSwitching)
		last := tgt.pos
		handled := make([]domain.Event, 0, len(events))
		for _, e := range events {
			last = e.Position
			if b.p.Handles(e.Type) {
				handled = append(handled, e)
			}
		}
		err = r.inTx(ctx, func(q sqlq, _ rawConn) error {
			v, ok, err := loadVersions(ctx, q, b.p.Name(), r.f.lockSuffix(true))
			if err != nil {
				return err
			}
			if !ok || v.Building != b.version || v.Served != b.old {
				return fmt.Errorf("rebuild %s v%d: projection_versions changed under the rebuild (served v%d, building v%d)",
					b.p.Name(), b.version, v.Served, v.Building)
			}
			if _, err := r.applyInTx(ctx, q, tgt, handled, last); err != nil {
				return err
			}
			_, err = q.exec(ctx, `UPDATE projection_versions SET served_version = ?, code_version = ?,
				building_version = NULL, building_code_version = NULL, updated_at = ? WHERE name = ?`,
				b.version, b.p.Version(), r.f.timeArg(r.cfg.Clock.Now()), b.p.Name())
			if err != nil {
				return fmt.Errorf("switch %s to v%d: %w", b.p.Name(), b.version, err)
			}
			return nil
		})
		r.settleCache(tgt, err)
		if err != nil {
			return fmt.Errorf("rebuild %s: switch: %w", b.p.Name(), err)
		}
		tgt.dbPos, tgt.pos = last, last
		r.cfg.Logger.Info("projection version switched", "projection", b.p.Name(), "from", b.old, "to", b.version)
		return nil
	}
}

func (r *Runner) setBuilds(names []string, tr *tracker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		r.builds[n] = tr
	}
}

func (r *Runner) clearBuilds(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		delete(r.builds, n)
	}
}

// tracker measures a rebuild's progress and reports it.
type tracker struct {
	mu    sync.Mutex
	p     Progress
	done  atomic.Int64
	cbMu  sync.Mutex // callbacks never run concurrently
	cb    func(Progress)
	start time.Time
	stop  chan struct{}
}

func newTracker(names []string, opts RebuildOptions, now time.Time) *tracker {
	t := &tracker{cb: opts.Progress, start: time.Now(), stop: make(chan struct{})}
	t.p = Progress{Projections: names, Phase: PhaseFolding, StartedAt: now}
	if !opts.Until.IsZero() {
		u := opts.Until.UTC()
		t.p.Until = &u
	}
	return t
}

func (t *tracker) setTotal(n int64) { t.mu.Lock(); t.p.Total = n; t.mu.Unlock() }
func (t *tracker) setVersion(v int) { t.mu.Lock(); t.p.Version = v; t.mu.Unlock() }

// add counts events read; seq is the last one's sequence number.
func (t *tracker) add(n int64, seq int64) {
	t.done.Add(n)
	t.mu.Lock()
	if seq > t.p.Total {
		t.p.Total = seq // the head moved (PostgreSQL sequence order differs from commit order)
	}
	t.mu.Unlock()
}

func (t *tracker) setPhase(ph string) {
	t.mu.Lock()
	t.p.Phase = ph
	if ph == PhaseDone {
		t.p.Total = max(t.p.Total, t.done.Load())
		t.done.Store(t.p.Total)
	}
	t.mu.Unlock()
	t.emit()
}

func (t *tracker) fail(err error) {
	t.mu.Lock()
	t.p.Phase, t.p.Error = PhaseFailed, err.Error()
	t.mu.Unlock()
	t.emit()
}

func (t *tracker) snapshot() Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.p
	p.Projections = append([]string(nil), t.p.Projections...)
	p.Done = min(t.done.Load(), max(p.Total, t.done.Load()))
	if el := time.Since(t.start).Seconds(); el > 0 {
		p.Rate = float64(p.Done) / el
	}
	if p.Rate > 0 && p.Total > p.Done {
		p.ETA = time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
	}
	p.ETASeconds = p.ETA.Seconds()
	return p
}

func (t *tracker) emit() {
	if t.cb == nil {
		return
	}
	t.cbMu.Lock()
	defer t.cbMu.Unlock()
	t.cb(t.snapshot())
}

// report emits every 200ms until the returned stop is called.
func (t *tracker) report() (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tk.C:
				t.emit()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(t.stop); <-done }) }
}

// streamScoped is a Projection whose every row depends on the events of
// one stream, all in streams named with streamPrefix: a rebuild may fold
// it stream by stream (domain.Scan.ByStream).
type streamScoped interface{ streamPrefix() string }

// typePrefixed is a Projection that handles only event types starting
// with typePrefix: a rebuild's scan for it can leave the others out.
type typePrefixed interface{ typePrefix() string }

// drainer is a Fold that can hand out finished rows during a rebuild's
// pass, so they are written as it goes instead of held to the end.
type drainer interface {
	// drains reports whether drain emits rows before the end of the pass
	// when events come stream by stream (byStream) or in log order.
	drains(byStream bool) bool
	// drain emits the rows no later event can change (every row when
	// final) and forgets them.
	drain(byStream, final bool, emit func(*Table, []any) error) error
}

// rowWriters write a build's drained rows while the pass goes on: per
// table a goroutine gathering chunkRows rows from a channel, then writing
// them in a short transaction of their own (COPY on PostgreSQL, INSERTs on
// SQLite). No transaction stays open while rows are awaited: on SQLite it
// would hold the one writer (ingest and the other writers wait), and on
// PostgreSQL it would hold back every log reader's gate.
type rowWriters struct {
	byStream bool
	chans    map[string]chan []any // by table base name
	errs     chan error
}

// startRowWriters starts b's row writers when its fold drains in this
// mode, else returns nil. A writer's error is passed to fail at once, so
// the pass stops instead of filling a channel nobody reads.
func (r *Runner) startRowWriters(ctx context.Context, b *build, byStream bool, fail func(error)) *rowWriters {
	d, ok := b.fold.(drainer)
	if !ok || !d.drains(byStream) {
		return nil
	}
	tables := b.p.Tables()
	w := &rowWriters{byStream: byStream, chans: map[string]chan []any{}, errs: make(chan error, len(tables))}
	for _, t := range tables {
		ch := make(chan []any, chunkRows) // the fold fills the next chunk while one is written
		w.chans[t.Name] = ch
		go func() {
			err := r.writeRows(ctx, b, t, ch)
			if err != nil {
				err = fmt.Errorf("rebuild %s: write %s: %w", b.p.Name(), t.Name, err)
				fail(err)
				for range ch { // let senders finish
				}
			}
			w.errs <- err
		}()
	}
	return w
}

// writeRows writes the rows from ch, chunkRows at a time, until ch is
// closed or ctx ends.
func (r *Runner) writeRows(ctx context.Context, b *build, t *Table, ch <-chan []any) error {
	chunk := make([][]any, 0, chunkRows)
	for open := true; open; {
		chunk = chunk[:0]
		for open && len(chunk) < chunkRows {
			select {
			case row, ok := <-ch:
				if open = ok; ok {
					chunk = append(chunk, row)
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if len(chunk) == 0 {
			break
		}
		if err := r.inTx(ctx, func(q sqlq, raw rawConn) error {
			if err := noWALWait(ctx, q); err != nil {
				return err
			}
			return (&Tx{q: q, names: b.names, mode: modeBulk, rawPG: raw}).Write(ctx, t, Rows(chunk))
		}); err != nil {
			return err
		}
	}
	return nil
}

// noWALWait lets a PostgreSQL transaction commit without waiting for its
// WAL flush: for rows of a version nothing serves yet, whose final commit
// (synchronous, and after these in the WAL) makes them durable with it.
func noWALWait(ctx context.Context, q sqlq) error {
	if q.f != flavorPostgres {
		return nil
	}
	_, err := q.exec(ctx, "SET LOCAL synchronous_commit = off")
	return err
}

// drain hands the fold's finished rows to the writers.
func (w *rowWriters) drain(ctx context.Context, f Fold, final bool) error {
	return f.(drainer).drain(w.byStream, final, func(t *Table, row []any) error {
		ch, ok := w.chans[t.Name]
		if !ok {
			return fmt.Errorf("projections: table %s has no writer", t.Name)
		}
		select {
		case ch <- row:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// close ends the writers' input and waits for them.
func (w *rowWriters) close() error {
	for _, ch := range w.chans {
		close(ch)
	}
	var errs []error
	for range w.chans {
		errs = append(errs, <-w.errs)
	}
	return errors.Join(errs...)
}
