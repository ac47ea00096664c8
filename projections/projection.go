package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidemark/tidemark/domain"
)

// Projection is one read model: its tables and how events fold into them.
type Projection interface {
	// Name identifies the projection (checkpoints, locks, metrics), e.g. "devices".
	Name() string
	// Version is the code version of the fold and its tables. Raising it
	// makes the runner rebuild the projection (blue/green) on start.
	Version() int
	// Tables describes the read-model tables (base names).
	Tables() []*Table
	// Handles reports whether events of this type concern the projection.
	// Other events only move its checkpoint.
	Handles(eventType string) bool
	// NewFold returns an empty in-memory fold for one batch or one rebuild.
	NewFold() Fold
}

// Fold holds the states a batch (or a whole rebuild) changes, in memory.
// A live batch calls Load once, Apply for each event in log order and
// Flush(final=true) once; a rebuild starts empty, never calls Load, calls
// Flush(final=false) between read batches and Flush(final=true) at the end.
type Fold interface {
	// Load reads the current rows the events will change.
	Load(ctx context.Context, tx *Tx, events []domain.Event) error
	// Apply folds one event. An error marks the event poison; the fold must
	// then be as it was before the call.
	Apply(e domain.Event) error
	// Flush writes the rows changed since the last Flush. When final is
	// false a fold may keep rows back so each is written once (bulk loads
	// cannot write a key twice). A fold with a method streaming() bool
	// returning true is flushed between a rebuild's batches; others only
	// at the end.
	Flush(ctx context.Context, tx *Tx, final bool) error
}

// keyed is a Fold keeping one JSON state per key in one table: load the
// touched keys' states once, evolve them in memory, write each changed key
// once per flush. P is what parse makes of an event for evolve, so an
// event touching many keys is parsed once.
type keyed[K cmp.Ordered, S, P any] struct {
	table    *Table
	keyCol   string
	stateCol string
	// docCol, if set, is the column of the served document, which row
	// leaves out of the state's JSON (so it is stored once, not twice);
	// join puts it back into a loaded state.
	docCol string
	join   func(s *S, doc []byte) error
	parse  func(e domain.Event) (P, []K, error) // the event for evolve, and the keys it touches
	evolve func(s S, k K, e domain.Event, p P) (S, error)
	// clone copies a state whose maps evolve may change in place, for an
	// event touching several keys where evolve may fail for a later key
	// after changing an earlier one; nil when that cannot happen.
	clone    func(S) S
	row      func(k K, s S) ([]any, error) // full row in table column order
	parseKey func(any) (K, error)          // a scanned key column value

	states map[K]S
	dirty  map[K]struct{}
	last   K                 // key of the last event applied (a stream-by-stream rebuild's open stream)
	cache  *stateCache[K, S] // a live projection's states of earlier batches, if any
	docs   []servedDoc       // the documents a live batch wrote (docCol), for a DocCache
}

// stateCache is a bounded map of committed states. When full it forgets
// arbitrary entries (Go's map order), which is enough: a miss only costs
// reading the row.
type stateCache[K comparable, S any] struct {
	capacity int
	states   map[K]S
}

func (f *keyed[K, S, P]) useCache(slot *any, capacity int) {
	c, _ := (*slot).(*stateCache[K, S])
	if c == nil {
		c = &stateCache[K, S]{capacity: capacity, states: map[K]S{}}
		*slot = c
	}
	f.cache = c
}

func (f *keyed[K, S, P]) keep() {
	c := f.cache
	if c == nil {
		return
	}
	for k, s := range f.states {
		c.states[k] = s
	}
	for k := range c.states {
		if len(c.states) <= c.capacity {
			break
		}
		if _, now := f.states[k]; !now { // keep this batch's, they are the likeliest next
			delete(c.states, k)
		}
	}
}

func (f *keyed[K, S, P]) init() {
	if f.states == nil {
		f.states = map[K]S{}
		f.dirty = map[K]struct{}{}
	}
}

func (f *keyed[K, S, P]) Load(ctx context.Context, tx *Tx, events []domain.Event) error {
	return f.loadFor(ctx, tx, events, nil)
}

// loadFor is Load, showing each parsed event to seen (if not nil) on the
// way, for a fold that loads more than the states.
func (f *keyed[K, S, P]) loadFor(ctx context.Context, tx *Tx, events []domain.Event, seen func(p P, ks []K)) error {
	f.init()
	want := map[K]struct{}{}
	for _, e := range events {
		p, ks, err := f.parse(e)
		if err != nil {
			continue // Apply reports it as poison
		}
		f.want(want, ks)
		if seen != nil {
			seen(p, ks)
		}
	}
	return f.loadStates(ctx, tx, want)
}

// want adds the keys whose states are neither loaded nor cached to want,
// taking cached ones into the fold.
func (f *keyed[K, S, P]) want(want map[K]struct{}, ks []K) {
	for _, k := range ks {
		if _, ok := f.states[k]; ok {
			continue
		}
		if f.cache != nil {
			if s, ok := f.cache.states[k]; ok {
				f.states[k] = s
				continue
			}
		}
		want[k] = struct{}{}
	}
}

// loadStates reads the stored states of the wanted keys.
func (f *keyed[K, S, P]) loadStates(ctx context.Context, tx *Tx, want map[K]struct{}) error {
	if len(want) == 0 {
		return nil
	}
	all := make([]K, 0, len(want))
	for k := range want {
		all = append(all, k)
	}
	const chunk = 500
	for i := 0; i < len(all); i += chunk {
		part := all[i:min(i+chunk, len(all))]
		// One statement text on PostgreSQL (an array parameter), a list on SQLite.
		cond, args := "= ANY(?)", []any{part}
		if tx.q.f != flavorPostgres {
			cond, args = "IN ("+placeholders(len(part))+")", make([]any, len(part))
			for j, k := range part {
				args[j] = k
			}
		}
		cols := quote(f.keyCol) + ", " + quote(f.stateCol)
		if f.docCol != "" {
			cols += ", " + quote(f.docCol)
		}
		q := fmt.Sprintf("SELECT %s FROM %s WHERE %s %s", cols, tx.Name(f.table.Name), quote(f.keyCol), cond)
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("load %s states: %w", f.table.Name, err)
		}
		for rows.Next() {
			var raw any
			var state, doc []byte
			dest := []any{&raw, &state, &doc}
			if f.docCol == "" {
				dest = dest[:2]
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return fmt.Errorf("load %s states: %w", f.table.Name, err)
			}
			k, err := f.parseKey(raw)
			if err != nil {
				rows.Close()
				return fmt.Errorf("load %s states: %w", f.table.Name, err)
			}
			var s S
			if err := json.Unmarshal(state, &s); err != nil {
				rows.Close()
				return fmt.Errorf("load %s state of %v: %w", f.table.Name, k, err)
			}
			if f.join != nil {
				if err := f.join(&s, doc); err != nil {
					rows.Close()
					return fmt.Errorf("load %s document of %v: %w", f.table.Name, k, err)
				}
			}
			f.states[k] = s
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("load %s states: %w", f.table.Name, err)
		}
	}
	return nil
}

func (f *keyed[K, S, P]) Apply(e domain.Event) error {
	p, ks, err := f.parse(e)
	if err != nil {
		return err
	}
	return f.applyParsed(e, p, ks)
}

// applyParsed is Apply for an event parse has made p and keys ks of.
func (f *keyed[K, S, P]) applyParsed(e domain.Event, p P, ks []K) error {
	f.init()
	if len(ks) == 1 { // the common case, without the staging map
		s, err := f.evolve(f.states[ks[0]], ks[0], e, p)
		if err != nil {
			return err
		}
		f.states[ks[0]] = s
		f.dirty[ks[0]] = struct{}{}
		f.last = ks[0]
		return nil
	}
	next := make(map[K]S, len(ks))
	for _, k := range ks {
		if _, seen := next[k]; seen {
			continue // an id listed twice is one change
		}
		cur := f.states[k]
		if f.clone != nil { // an error for a later id must leave this one untouched
			cur = f.clone(cur)
		}
		s, err := f.evolve(cur, k, e, p)
		if err != nil {
			return err
		}
		next[k] = s
	}
	for k, s := range next {
		f.states[k] = s
		f.dirty[k] = struct{}{}
	}
	if len(ks) > 0 {
		f.last = ks[len(ks)-1]
	}
	return nil
}

// drains: by stream, a key is finished once the next stream starts; in log
// order any key may change until the end.
func (f *keyed[K, S, P]) drains(byStream bool) bool { return byStream }

// drain emits the changed keys' rows, but for the open stream's key unless
// final, and forgets their states.
func (f *keyed[K, S, P]) drain(byStream, final bool, emit func(*Table, []any) error) error {
	if !byStream && !final {
		return nil
	}
	for k := range f.dirty {
		if !final && k == f.last {
			continue
		}
		row, err := f.row(k, f.states[k])
		if err != nil {
			return fmt.Errorf("%s row %v: %w", f.table.Name, k, err)
		}
		if err := emit(f.table, row); err != nil {
			return err
		}
		delete(f.dirty, k)
		delete(f.states, k)
	}
	return nil
}

func (f *keyed[K, S, P]) Flush(ctx context.Context, tx *Tx, final bool) error {
	f.init()
	if !final && tx.mode == modeBulk {
		return nil // a bulk load writes each key once, at the end
	}
	if len(f.dirty) == 0 {
		return nil
	}
	ks := make([]K, 0, len(f.dirty))
	for k := range f.dirty {
		ks = append(ks, k)
	}
	slices.Sort(ks) // key order: fewer page splits, deterministic lock order
	src := &keyedRows[K, S, P]{f: f, keys: ks, i: -1, docAt: -1}
	if tx.mode == modeUpsert && f.docCol != "" {
		src.docAt = f.table.columnIndex(f.docCol)
	}
	if err := tx.Write(ctx, f.table, src); err != nil {
		return err
	}
	clear(f.dirty)
	if tx.mode == modeBulk {
		clear(f.states) // written; a rebuild is done with them
	}
	return nil
}

// servedDocs returns the documents the batch's Flush wrote, by key.
func (f *keyed[K, S, P]) servedDocs() []servedDoc { return f.docs }

// keyString is a key as the DocCache and the Reader name it.
func keyString[K cmp.Ordered](k K) string {
	switch k := any(k).(type) {
	case string:
		return k
	case int64:
		return strconv.FormatInt(k, 10)
	}
	return fmt.Sprint(k)
}

// keyedRows renders rows lazily, so a rebuild never holds all rows' JSON at once.
type keyedRows[K cmp.Ordered, S, P any] struct {
	f     *keyed[K, S, P]
	keys  []K
	i     int
	err   error
	docAt int // the document's column, kept in f.docs; -1: not kept
}

func (r *keyedRows[K, S, P]) Next() bool { r.i++; return r.err == nil && r.i < len(r.keys) }
func (r *keyedRows[K, S, P]) Err() error { return r.err }
func (r *keyedRows[K, S, P]) Values() ([]any, error) {
	k := r.keys[r.i]
	v, err := r.f.row(k, r.f.states[k])
	if err != nil {
		r.err = fmt.Errorf("%s row %v: %w", r.f.table.Name, k, err)
		return nil, r.err
	}
	if r.docAt >= 0 {
		if doc, ok := v[r.docAt].([]byte); ok {
			r.f.docs = append(r.f.docs, servedDoc{key: keyString(k), doc: doc})
		}
	}
	return v, nil
}

// handlesPrefix is a Handles for all event types with a prefix.
func handlesPrefix(prefix string) func(string) bool {
	return func(t string) bool { return strings.HasPrefix(t, prefix) }
}

// int64Key reads an integer key column as scanned by either driver.
func int64Key(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	default:
		return 0, fmt.Errorf("key column: unexpected %T", v)
	}
}

// stringKey reads a text key column as scanned by either driver.
func stringKey(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	default:
		return "", fmt.Errorf("key column: unexpected %T", v)
	}
}
