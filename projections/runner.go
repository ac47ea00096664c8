package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// Runner keeps the projections' read models up to date: per projection it
// takes the projection's lease, catches up in batches from the checkpoint,
// then follows the log live. It also runs rebuilds (Rebuild, StartRebuild)
// and reports Status.
type Runner struct {
	cfg     Config
	f       flavor
	procs   []*proc
	byName  map[string]*proc
	metrics *metrics

	lockerMu sync.Mutex
	locker   Locker

	tail *logTail  // the live log, read once for every projection
	docs *DocCache // documents of the projections this process leads; nil: none

	mu      sync.Mutex
	running bool
	runCtx  context.Context     // Run's context: background rebuilds end with it
	builds  map[string]*tracker // rebuilds under way in this process, by projection

	// beforeCommit, when set (tests), runs after a batch's writes and
	// checkpoint and before its commit; an error rolls the batch back.
	beforeCommit func(ctx context.Context, q sqlq, projection string) error
}

// ErrUnknownProjection: no projection has that name.
var ErrUnknownProjection = errors.New("unknown projection")

// errNewerCode: the served tables were built by newer projection code.
var errNewerCode = errors.New("served version was built by newer code; not applying")

// New checks cfg and returns a Runner; Run starts it.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	f, _ := flavorOf(cfg.DB)
	r := &Runner{cfg: cfg, f: f, byName: map[string]*proc{}, builds: map[string]*tracker{}, locker: cfg.Locker,
		tail: newLogTail(cfg.Store, 2*cfg.BatchSize), docs: NewDocCache(cfg.DocCacheBytes)}
	for _, p := range cfg.Projections {
		pr := &proc{p: p, retry: make(chan struct{}, 1), state: StateCatchingUp}
		r.procs = append(r.procs, pr)
		r.byName[p.Name()] = pr
	}
	r.metrics = newMetrics(r)
	if cfg.Registry != nil {
		if err := r.metrics.register(cfg.Registry); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// DocCache is the cache of served documents this Runner keeps for the
// projections it leads, for a Reader on the same database
// (ReaderOptions.Docs); nil when Config.DocCacheBytes < 0.
func (r *Runner) DocCache() *DocCache { return r.docs }

// Run applies the projections until ctx ends; it returns nil then.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("projections: runner already running")
	}
	r.running, r.runCtx = true, ctx
	r.mu.Unlock()
	if _, err := r.getLocker(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, pr := range r.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runProc(ctx, pr)
		}()
	}
	wg.Wait()
	if pl, ok := r.locker.(*PostgresLocker); ok && r.cfg.Locker == nil {
		pl.Close()
	}
	return nil
}

func (r *Runner) getLocker(ctx context.Context) (Locker, error) {
	r.lockerMu.Lock()
	defer r.lockerMu.Unlock()
	if r.locker == nil {
		l, err := LockerFor(ctx, r.cfg.DB)
		if err != nil {
			return nil, err
		}
		r.locker = l
	}
	return r.locker, nil
}

// Retry restarts a projection stopped by a poison event (policy stop).
func (r *Runner) Retry(name string) error {
	pr, ok := r.byName[name]
	if !ok {
		return fmt.Errorf("%q: %w", name, ErrUnknownProjection)
	}
	select {
	case pr.retry <- struct{}{}:
	default:
	}
	return nil
}

// Poison lists recorded poison events of a projection ("" for all), newest first.
func (r *Runner) Poison(ctx context.Context, name string, limit int) ([]PoisonEvent, error) {
	return listPoison(ctx, sqlq{r.f, r.cfg.DB.DB}, name, limit)
}

func leaseName(p Projection) string { return "projection:" + p.Name() }

// runProc holds or waits for the projection's lease, for as long as ctx lasts.
func (r *Runner) runProc(ctx context.Context, pr *proc) {
	log := r.cfg.Logger.With("projection", pr.p.Name())
	for ctx.Err() == nil {
		lease, ok, err := r.locker.TryLock(ctx, leaseName(pr.p))
		if err != nil {
			if ctx.Err() == nil {
				pr.setError(err)
				log.Warn("projection lock", "err", err)
			}
			sleep(ctx, r.cfg.LockRetry)
			continue
		}
		if !ok {
			r.standby(ctx, pr)
			sleep(ctx, r.cfg.LockRetry)
			continue
		}
		log.Info("projection leader: applying")
		lctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Lost():
				cancel() // stop applying at once: an open batch rolls back
			case <-lctx.Done():
			}
		}()
		pr.setLeader(true)
		r.lead(lctx, pr)
		lost := false
		select {
		case <-lease.Lost():
			lost = true
		default:
		}
		cancel()
		pr.setLeader(false)
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = lease.Release(rctx)
		rcancel()
		if lost && ctx.Err() == nil {
			pr.setError(errors.New("lost the projection lock"))
			log.Warn("projection leader: lost the lock; standing by")
		}
		sleep(ctx, r.cfg.LockRetry) // a standby gets its turn before this process tries again
	}
}

// lead applies the projection while ctx lasts (this process holds the lease).
func (r *Runner) lead(ctx context.Context, pr *proc) {
	log := r.cfg.Logger.With("projection", pr.p.Name())
	back := backoff{}
	for ctx.Err() == nil {
		tgt, err := r.prepare(ctx, pr)
		if err == nil {
			r.docs.activate(pr.p.Name(), tgt.version)
			err = r.follow(ctx, pr, tgt)
			r.docs.deactivate(pr.p.Name())
		}
		var pe *poisonStop
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errServedChanged), errors.Is(err, errCheckpointMoved):
			log.Info("projection reloading", "reason", err)
			back.reset()
		case errors.As(err, &pe):
			pr.setFailed(err)
			log.Error("projection stopped on a poison event", "event", pe.ev.EventID, "position", pe.ev.Position.String(), "err", pe.err)
			select {
			case <-ctx.Done():
				return
			case <-pr.retry:
				pr.setState(StateCatchingUp)
			}
		case errors.Is(err, errNewerCode):
			pr.setFailed(err)
			log.Error("projection not applied: served by newer code", "err", err)
			return // give the lease up: a process with the newer code may take it
		case err != nil:
			pr.setError(err)
			r.metrics.errors.WithLabelValues(pr.p.Name()).Inc()
			log.Warn("projection error; retrying", "err", err)
			sleep(ctx, back.next())
		}
	}
}

// target is one version of a projection being applied.
type target struct {
	p       Projection
	version int
	names   map[string]string
	served  bool            // check in each batch that version is still the served one
	dbPos   domain.Position // the committed checkpoint
	pos     domain.Position // read up to here (ahead of dbPos after batches of other events)
	written time.Time       // when the checkpoint was last written
	policy  PoisonPolicy
	// poisoned: a batch recorded a poison event since Status last loaded them.
	poisoned bool
	// cache holds the states of the committed batches (see cachingFold);
	// it is dropped whenever a batch fails, as the fold may have changed
	// cached states in place.
	cache any
	fold  Fold // the fold of the batch in flight
}

// prepare makes sure the projection is served, by tables of this code
// version (rebuilding blue/green if not), and reads its checkpoint.
func (r *Runner) prepare(ctx context.Context, pr *proc) (*target, error) {
	p := pr.p
	q := sqlq{r.f, r.cfg.DB.DB}
	for {
		v, ok, err := loadVersions(ctx, q, p.Name(), "")
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
				_, err := bootstrap(ctx, q, p, r.cfg.Clock.Now())
				return err
			}); err != nil {
				return nil, err
			}
			continue
		}
		if v.Code > p.Version() {
			return nil, fmt.Errorf("%s: served v%d has code version %d, this process has %d: %w",
				p.Name(), v.Served, v.Code, p.Version(), errNewerCode)
		}
		if v.Code < p.Version() {
			pr.setVersion(v.Served, StateRebuilding)
			_, err := r.rebuild(ctx, []Projection{p}, RebuildOptions{})
			if errors.Is(err, ErrRebuildInProgress) {
				sleep(ctx, r.cfg.LockRetry) // another process is rebuilding it
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("rebuild for code version %d: %w", p.Version(), err)
			}
			continue
		}
		pos, err := readCheckpoint(ctx, q, p.Name(), v.Served)
		if err != nil {
			return nil, err
		}
		head, err := r.cfg.Store.Head(ctx)
		if err != nil {
			return nil, err
		}
		ps, err := loadPoisonSummary(ctx, q, p.Name(), v.Served)
		if err != nil {
			return nil, err
		}
		pr.setPrepared(v.Served, pos, head)
		pr.setPoison(ps)
		return &target{p: p, version: v.Served, names: tableNames(p, versionSuffix(v.Served)), served: true,
			dbPos: pos, pos: pos, policy: r.cfg.Poison}, nil
	}
}

// follow catches up in batches, then applies live, until an error.
func (r *Runner) follow(ctx context.Context, pr *proc, tgt *target) error {
	var headAt time.Time
	checked := time.Now()
	for {
		events, err := r.tail.ReadAll(ctx, tgt.pos, r.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			if tgt.pos != tgt.dbPos { // only other projections' events since the last write
				if err := r.applyBatch(ctx, tgt, nil); err != nil {
					return err
				}
			}
			pr.setCaughtUp(tgt.pos)
			if time.Since(checked) > time.Second { // an idle projection still notices a switch
				checked = time.Now()
				v, ok, err := loadVersions(ctx, sqlq{r.f, r.cfg.DB.DB}, tgt.p.Name(), "")
				if err != nil {
					return err
				}
				if ok && v.Served != tgt.version {
					return fmt.Errorf("%s: applying v%d, served v%d: %w", tgt.p.Name(), tgt.version, v.Served, errServedChanged)
				}
			}
			if err := r.cfg.Store.WaitForEvents(ctx, tgt.pos); err != nil {
				return err
			}
			sleep(ctx, r.cfg.FlushInterval) // let a burst gather into one batch
			continue
		}
		full := len(events) == r.cfg.BatchSize
		pr.setReading(events[0].RecordedAt, full)
		err = r.applyBatch(ctx, tgt, events)
		if tgt.poisoned {
			r.refreshPoison(ctx, pr, tgt)
		}
		if err != nil {
			var stop *poisonStop
			if errors.As(err, &stop) {
				pr.setApplied(tgt.dbPos, tgt.dbPos, time.Time{}, false)
			}
			return err
		}
		head := tgt.pos
		if full && time.Since(headAt) > time.Second {
			if h, err := r.cfg.Store.Head(ctx); err == nil {
				head, headAt = h, time.Now()
			}
		}
		pr.setApplied(tgt.pos, head, events[len(events)-1].RecordedAt, full)
		if !full { // live: the events arriving meanwhile share the next transaction
			sleep(ctx, r.cfg.FlushInterval)
		}
	}
}

// poisonStop: a poison event under policy stop.
type poisonStop struct {
	ev  PoisonEvent
	err error
}

func (e *poisonStop) Error() string {
	return fmt.Sprintf("poison event %s at %s (policy stop): %v", e.ev.EventID, e.ev.Position, e.err)
}
func (e *poisonStop) Unwrap() error { return e.err }

// skipCheckpointWrite bounds how long the checkpoint may lag the read
// position when batches hold none of the projection's events.
const skipCheckpointWrite = time.Second

// applyBatch applies events (in log order, after tgt.pos) to tgt in one
// transaction with the checkpoint. Under policy stop, the events before a
// poison event are committed, the event is recorded, and *poisonStop returned.
func (r *Runner) applyBatch(ctx context.Context, tgt *target, events []domain.Event) error {
	last := tgt.pos
	if len(events) > 0 {
		last = events[len(events)-1].Position
	}
	handled := make([]domain.Event, 0, len(events))
	for _, e := range events {
		if tgt.p.Handles(e.Type) {
			handled = append(handled, e)
		}
	}
	if len(handled) == 0 && len(events) > 0 && time.Since(tgt.written) < skipCheckpointWrite {
		tgt.pos = last // nothing to write; the checkpoint catches up later
		return nil
	}
	start := time.Now()
	var skipped int
	err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
		var err error
		skipped, err = r.applyInTx(ctx, q, tgt, handled, last)
		return err
	})
	r.settleCache(tgt, err)
	if err != nil && ctx.Err() == nil && errors.Is(r.cfg.Interpret(err), domain.ErrInvalidEvent) {
		return r.isolateRefused(ctx, tgt, events, handled, last, err)
	}
	var stop *poisonStop
	if errors.As(err, &stop) {
		// Commit what comes before the poison event, then record it.
		i := 0
		for i < len(events) && events[i].ID != stop.ev.EventID {
			i++
		}
		if i > 0 {
			tgt.written = time.Time{} // write the checkpoint even if those events are not ours
			if err := r.applyBatch(ctx, tgt, events[:i]); err != nil {
				return err
			}
		}
		return r.recordStop(ctx, tgt, stop)
	}
	if err != nil {
		return err
	}
	tgt.dbPos, tgt.pos, tgt.written = last, last, time.Now()
	name := tgt.p.Name()
	r.metrics.batches.WithLabelValues(name).Inc()
	r.metrics.applied.WithLabelValues(name).Add(float64(len(handled) - skipped))
	r.metrics.batchSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if skipped > 0 {
		r.metrics.poison.WithLabelValues(name).Add(float64(skipped))
		tgt.poisoned = true
	}
	return nil
}

// refreshPoison reloads what Status shows of the poison events after a
// batch recorded some. On an error the old summary stays; the next batch
// that records one tries again.
func (r *Runner) refreshPoison(ctx context.Context, pr *proc, tgt *target) {
	ps, err := loadPoisonSummary(ctx, sqlq{r.f, r.cfg.DB.DB}, tgt.p.Name(), tgt.version)
	if err != nil {
		r.cfg.Logger.Warn("poison summary", "projection", tgt.p.Name(), "err", err)
		return
	}
	tgt.poisoned = false
	pr.setPoison(ps)
}

// recordStop records the poison event a projection stops at (policy
// stop) in a transaction of its own, and returns stop.
func (r *Runner) recordStop(ctx context.Context, tgt *target, stop *poisonStop) error {
	if err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
		return recordPoison(ctx, q, stop.ev, r.cfg.Clock.Now())
	}); err != nil {
		return err
	}
	r.metrics.poison.WithLabelValues(tgt.p.Name()).Inc()
	tgt.poisoned = true
	return stop
}

// isolateRefused handles a batch whose writes the database refused for
// good (err): several events are applied again one at a time, so the
// others commit; a batch of one is that event's own fault, and it becomes
// a poison event: recorded with the checkpoint moved past it (policy
// skip), or recorded and the projection stopped (policy stop).
func (r *Runner) isolateRefused(ctx context.Context, tgt *target, events, handled []domain.Event, last domain.Position, err error) error {
	if len(handled) > 1 {
		for i := range events {
			if err := r.applyBatch(ctx, tgt, events[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	e := handled[0]
	name := tgt.p.Name()
	pe := PoisonEvent{Projection: name, Version: tgt.version, EventID: e.ID, EventType: e.Type,
		Position: e.Position, Error: "writing its read-model rows: " + err.Error(), Policy: tgt.policy}
	if tgt.policy == PoisonStop {
		return r.recordStop(ctx, tgt, &poisonStop{ev: pe, err: err})
	}
	if err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
		if _, err := r.applyInTx(ctx, q, tgt, nil, last); err != nil { // the checkpoint only
			return err
		}
		return recordPoison(ctx, q, pe, r.cfg.Clock.Now())
	}); err != nil {
		return err
	}
	r.cfg.Logger.Warn("poison event skipped: its read-model write was refused", "projection", name, "event", e.ID,
		"position", e.Position.String(), "err", err)
	tgt.dbPos, tgt.pos, tgt.written = last, last, time.Now()
	r.metrics.poison.WithLabelValues(name).Inc()
	tgt.poisoned = true
	return nil
}

// applyInTx is the body of a batch transaction: check the served version,
// move the checkpoint (compare-and-set first, so a second writer waits on
// that row and then fails instead of writing), fold, write. It returns how
// many events were skipped as poison.
func (r *Runner) applyInTx(ctx context.Context, q sqlq, tgt *target, handled []domain.Event, last domain.Position) (int, error) {
	name := tgt.p.Name()
	if tgt.served {
		v, ok, err := loadVersions(ctx, q, name, "")
		if err != nil {
			return 0, err
		}
		if !ok || v.Served != tgt.version {
			return 0, fmt.Errorf("%s: applying v%d, served v%d: %w", name, tgt.version, v.Served, errServedChanged)
		}
	}
	now := r.cfg.Clock.Now()
	if err := advanceCheckpoint(ctx, q, name, tgt.version, tgt.dbPos, last, now); err != nil {
		return 0, err
	}
	skipped := 0
	if len(handled) > 0 {
		tx := &Tx{q: q, names: tgt.names, mode: modeUpsert}
		fold := tgt.p.NewFold()
		tgt.fold = fold
		if c, ok := fold.(cachingFold); ok && r.cfg.CacheStates > 0 {
			c.useCache(&tgt.cache, r.cfg.CacheStates)
		}
		if err := fold.Load(ctx, tx, handled); err != nil {
			return 0, err
		}
		for _, e := range handled {
			err := fold.Apply(e)
			if err == nil {
				continue
			}
			pe := PoisonEvent{Projection: name, Version: tgt.version, EventID: e.ID, EventType: e.Type,
				Position: e.Position, Error: err.Error(), Policy: tgt.policy}
			if tgt.policy == PoisonStop {
				return 0, &poisonStop{ev: pe, err: err}
			}
			if err := recordPoison(ctx, q, pe, now); err != nil {
				return 0, err
			}
			r.cfg.Logger.Warn("poison event skipped", "projection", name, "event", e.ID,
				"position", e.Position.String(), "err", err)
			skipped++
		}
		if err := fold.Flush(ctx, tx, true); err != nil {
			return 0, err
		}
	}
	if r.beforeCommit != nil {
		if err := r.beforeCommit(ctx, q, name); err != nil {
			return 0, err
		}
	}
	return skipped, nil
}

// cachingFold is a Fold that keeps its states across batches in a cache
// the runner holds per target.
type cachingFold interface {
	// useCache takes the cache in *slot (making one of capacity states
	// when *slot is nil): Load takes states from it before the database.
	useCache(slot *any, capacity int)
	// keep puts the batch's states into the cache, after its commit.
	keep()
}

// docSource is a Fold that tells which served documents its batch wrote.
type docSource interface {
	servedDocs() []servedDoc
}

// settleCache keeps the committed batch's states and puts its documents
// in the DocCache, or, after a failed batch, drops the state cache and
// empties the DocCache (the commit may have happened).
func (r *Runner) settleCache(tgt *target, err error) {
	name := tgt.p.Name()
	if err != nil {
		tgt.cache = nil
		r.docs.reset(name)
		tgt.fold = nil
		return
	}
	if c, ok := tgt.fold.(cachingFold); ok {
		c.keep()
	}
	if d, ok := tgt.fold.(docSource); ok {
		r.docs.put(name, tgt.version, d.servedDocs())
	}
	tgt.fold = nil
}

// rawConn reaches the driver connection under a transaction (COPY).
type rawConn func(func(driverConn any) error) error

// inTx runs fn in a transaction on a connection of its own.
func (r *Runner) inTx(ctx context.Context, fn func(q sqlq, raw rawConn) error) error {
	conn, err := r.cfg.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("projections: connection: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: begin: %w", err)
	}
	if err := fn(sqlq{r.f, tx.Tx}, conn.Raw); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit: %w", err)
	}
	return nil
}

// standby refreshes the status of a projection another process applies.
func (r *Runner) standby(ctx context.Context, pr *proc) {
	q := sqlq{r.f, r.cfg.DB.DB}
	v, ok, err := loadVersions(ctx, q, pr.p.Name(), "")
	if err != nil || !ok {
		return
	}
	pos, err := readCheckpoint(ctx, q, pr.p.Name(), v.Served)
	if err != nil {
		return
	}
	head, err := r.cfg.Store.Head(ctx)
	if err != nil {
		return
	}
	var oldest time.Time
	if next, err := r.cfg.Store.ReadAll(ctx, pos, 1); err == nil && len(next) > 0 {
		oldest = next[0].RecordedAt
	}
	pr.setStandby(v.Served, pos, head, oldest)
	if ps, err := loadPoisonSummary(ctx, q, pr.p.Name(), v.Served); err == nil {
		pr.setPoison(ps)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// backoff doubles from 100ms to 10s.
type backoff struct{ d time.Duration }

func (b *backoff) next() time.Duration {
	switch {
	case b.d == 0:
		b.d = 100 * time.Millisecond
	case b.d < 10*time.Second:
		b.d *= 2
	}
	return b.d
}

func (b *backoff) reset() { b.d = 0 }

// Status reports every projection of the runner, in configuration order.
func (r *Runner) Status() []Status {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	builds := make(map[string]*tracker, len(r.builds))
	for n, t := range r.builds {
		builds[n] = t
	}
	r.mu.Unlock()
	out := make([]Status, 0, len(r.procs))
	for _, pr := range r.procs {
		s := pr.status(now)
		if t := builds[s.Name]; t != nil {
			p := t.snapshot()
			s.Rebuild = &p
			if s.State != StateFailed {
				s.State = StateRebuilding
			}
		}
		out = append(out, s)
	}
	return out
}
