package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// maxChunkBytes keeps an import append well under the server's default
// maximum append size (1 MiB).
const maxChunkBytes = 512 << 10

// importItem is one validated event of an import.
type importItem struct {
	version int64
	data    kurrentdb.EventData
}

// importStream is the part of an import that goes to one stream.
type importStream struct {
	stream, phys string
	items        []importItem
}

// Import bulk-loads events. Every event is checked first, so an invalid
// one fails the import before anything is written. Then each stream is
// loaded on its own (Options.Concurrency streams at a time), in chunks of
// Options.ImportChunk events, each chunk one append expecting the
// stream's version just before it.
//
// KurrentDB assigns revisions itself, so an imported event must land at
// exactly its StreamVersion: versions the stream already has must hold
// the same event ids (those events are skipped: a re-import writes
// nothing), and the rest must follow the stream's last version without a
// gap; otherwise that stream fails with domain.ErrWrongExpectedVersion.
// RecordedAt is kept in the event's metadata. Order across streams is not
// kept (each stream's is), and with no transaction across streams an error
// leaves the streams already loaded in place: the count returned is what
// was written, also beside an error. Importing again finishes the job.
func (s *Store) Import(ctx context.Context, events []domain.ImportEvent) (int64, error) {
	groups := map[string]*importStream{}
	var order []*importStream
	for i, e := range events {
		if e.StreamVersion < 1 {
			return 0, fmt.Errorf("kurrentdb: import: event %d: stream version %d: %w", i, e.StreamVersion, domain.ErrInvalidEvent)
		}
		phys, err := s.names.physical(e.Stream)
		if err != nil {
			return 0, fmt.Errorf("kurrentdb: import: event %d: %w", i, err)
		}
		d, err := toEventData(e.NewEvent, e.RecordedAt)
		if err != nil {
			return 0, fmt.Errorf("kurrentdb: import: event %d: %w", i, err)
		}
		g := groups[phys]
		if g == nil {
			g = &importStream{stream: e.Stream, phys: phys}
			groups[phys] = g
			order = append(order, g)
		}
		g.items = append(g.items, importItem{version: e.StreamVersion, data: d})
	}
	for _, g := range order {
		if err := g.normalise(); err != nil {
			return 0, fmt.Errorf("kurrentdb: import: %w", err)
		}
	}

	var written atomic.Int64
	errs := make([]error, len(order))
	s.parallel(len(order), func(k int) {
		n, err := s.importOne(ctx, order[k])
		written.Add(n)
		if err != nil {
			errs[k] = fmt.Errorf("kurrentdb: import into %s: %w", order[k].stream, err)
		}
	})
	return written.Load(), errors.Join(errs...)
}

// normalise sorts a stream's events by version and drops repeats of the
// same event; two different events for one version are invalid.
func (g *importStream) normalise() error {
	sort.SliceStable(g.items, func(a, b int) bool { return g.items[a].version < g.items[b].version })
	out := g.items[:0]
	for _, it := range g.items {
		if n := len(out); n > 0 && out[n-1].version == it.version {
			if out[n-1].data.EventID != it.data.EventID {
				return fmt.Errorf("stream %s version %d given twice (%s, %s): %w",
					g.stream, it.version, out[n-1].data.EventID, it.data.EventID, domain.ErrInvalidEvent)
			}
			continue
		}
		out = append(out, it)
	}
	g.items = out
	return nil
}

// importOne loads one stream, starting over (skipping what is there) when
// another writer moved the stream meanwhile.
func (s *Store) importOne(ctx context.Context, g *importStream) (int64, error) {
	var total int64
	for attempt := 1; ; attempt++ {
		n, err := s.importOnce(ctx, g)
		total += n
		if err == nil || attempt == 3 || !errors.Is(err, domain.ErrWrongExpectedVersion) {
			return total, err
		}
	}
}

func (s *Store) importOnce(ctx context.Context, g *importStream) (int64, error) {
	cur, err := s.lastVersion(ctx, g.phys)
	if err != nil {
		return 0, err
	}
	k := sort.Search(len(g.items), func(k int) bool { return g.items[k].version > cur })
	if err := s.checkStored(ctx, g, g.items[:k]); err != nil {
		return 0, err
	}
	rest := g.items[k:]
	for j, it := range rest {
		if it.version != cur+1+int64(j) {
			return 0, fmt.Errorf("version %d does not follow version %d: %w", it.version, cur+int64(j), domain.ErrWrongExpectedVersion)
		}
	}
	var n int64
	for len(rest) > 0 {
		size, bytes := 0, 0
		for size < len(rest) && size < s.opts.ImportChunk {
			b := len(rest[size].data.Data) + len(rest[size].data.Metadata) + len(rest[size].data.EventType) + 64
			if size > 0 && bytes+b > maxChunkBytes {
				break
			}
			size, bytes = size+1, bytes+b
		}
		chunk := make([]kurrentdb.EventData, size)
		for j := range chunk {
			chunk[j] = rest[j].data
		}
		expect := cur + n
		_, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (*kurrentdb.WriteResult, error) {
			return c.AppendToStream(ctx, g.phys, kurrentdb.AppendToStreamOptions{StreamState: expectState(expect), RequiresLeader: true}, chunk...)
		})
		if err != nil {
			return n, err
		}
		n += int64(size)
		rest = rest[size:]
	}
	return n, nil
}

// checkStored verifies that events at versions the stream already has are
// the ones being imported.
func (s *Store) checkStored(ctx context.Context, g *importStream, items []importItem) error {
	if len(items) == 0 {
		return nil
	}
	lo, hi := items[0].version, items[len(items)-1].version
	have, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (map[int64]uuid.UUID, error) {
		have := make(map[int64]uuid.UUID, hi-lo+1)
		err := readStreamFn(ctx, c, g.phys, kurrentdb.Revision(revisionOf(lo)), kurrentdb.Forwards, uint64(hi-lo+1),
			func(r *kurrentdb.RecordedEvent) (bool, error) {
				have[versionOf(r.EventNumber)] = r.EventID
				return true, nil
			})
		return have, err
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		if id, ok := have[it.version]; !ok || id != it.data.EventID {
			return fmt.Errorf("version %d holds %s, not %s: %w", it.version, id, it.data.EventID, domain.ErrWrongExpectedVersion)
		}
	}
	return nil
}

// lastVersion is a stream's last version, 0 when it has no events.
func (s *Store) lastVersion(ctx context.Context, phys string) (int64, error) {
	return call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (int64, error) {
		var v int64
		err := readStreamFn(ctx, c, phys, kurrentdb.End{}, kurrentdb.Backwards, 1, func(r *kurrentdb.RecordedEvent) (bool, error) {
			v = versionOf(r.EventNumber)
			return false, nil
		})
		return v, err
	})
}
