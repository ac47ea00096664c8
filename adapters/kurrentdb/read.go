package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kurrent-io/KurrentDB-Client-Go/kurrentdb"

	"github.com/tidemark/tidemark/domain"
)

// errNoPositions: the server leaves $all positions out of stream reads.
var errNoPositions = errors.New("kurrentdb: the server does not report $all positions on stream reads (needs EventStoreDB 22.6 or later, or KurrentDB)")

// recv reads the next event of a read. The client panics on a message it
// does not know; that becomes an error here.
func recv(rs *kurrentdb.ReadStream) (ev *kurrentdb.ResolvedEvent, err error) {
	defer func() {
		if r := recover(); r != nil {
			ev, err = nil, fmt.Errorf("kurrentdb: client failed to read a message: %v", r)
		}
	}()
	return rs.Recv()
}

// each calls fn for every event of a read until fn returns false, the read
// ends or fails. It closes the read.
func each(rs *kurrentdb.ReadStream, fn func(r *kurrentdb.RecordedEvent) (more bool, err error)) error {
	defer rs.Close()
	for {
		ev, err := recv(rs)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r := ev.OriginalEvent()
		if r == nil {
			continue
		}
		more, err := fn(r)
		if err != nil || !more {
			return err
		}
	}
}

// isStreamNotFound: a read of a stream that has no events.
func isStreamNotFound(err error) bool {
	var kerr *kurrentdb.Error
	return errors.As(err, &kerr) && kerr.Code() == kurrentdb.ErrorCodeResourceNotFound
}

// readStreamFn reads up to count events of a KurrentDB stream from a
// revision, forwards, calling fn for each. A missing stream has no events.
func readStreamFn(ctx context.Context, c *kurrentdb.Client, phys string, from kurrentdb.StreamPosition, dir kurrentdb.Direction,
	count uint64, fn func(r *kurrentdb.RecordedEvent) (bool, error)) error {
	rs, err := c.ReadStream(ctx, phys, kurrentdb.ReadStreamOptions{Direction: dir, From: from, RequiresLeader: true}, count)
	if err == nil {
		err = each(rs, fn)
	}
	if isStreamNotFound(err) {
		return nil
	}
	return err
}

// streamEvent maps an event read from a stream, whose $all position the
// server must have filled in.
func streamEvent(r *kurrentdb.RecordedEvent, stream string) (domain.Event, error) {
	if !hasPosition(r.Position) {
		return domain.Event{}, errNoPositions
	}
	return fromRecorded(r, stream)
}

// ReadStream returns up to limit events of a stream with version >
// afterVersion, oldest first. A stream that does not exist has none.
func (s *Store) ReadStream(ctx context.Context, stream string, afterVersion int64, limit int) ([]domain.Event, error) {
	if limit <= 0 || stream == "" {
		return nil, nil
	}
	phys, err := s.names.physical(stream)
	if err != nil {
		return nil, err
	}
	out, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) ([]domain.Event, error) {
		var out []domain.Event
		err := readStreamFn(ctx, c, phys, readAfter(afterVersion), kurrentdb.Forwards, uint64(limit),
			func(r *kurrentdb.RecordedEvent) (bool, error) {
				e, err := streamEvent(r, stream)
				if err != nil {
					return false, err
				}
				out = append(out, e)
				return true, nil
			})
		return out, err
	})
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: read stream %s: %w", stream, err)
	}
	return out, nil
}

// ReadAll returns up to limit of Tidemark's events after the position, in
// $all order. $all is written by one leader in log order and a read
// returns only committed events, so nothing can appear later before a
// position already returned: a follower of ReadAll skips nothing.
//
// The client library has no server-side filter for $all reads, so pages
// of $all are read and system events, and streams outside the prefix, are
// dropped here.
func (s *Store) ReadAll(ctx context.Context, after domain.Position, limit int) ([]domain.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	start, err := fromPosition(after)
	if err != nil {
		return nil, err
	}
	page := min(max(limit+1, 128), 4096)
	out, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) ([]domain.Event, error) {
		var out []domain.Event
		from, cursor := start, after // where the next page starts; the last position seen, ours or not
		for len(out) < limit {
			n := 0
			rs, err := c.ReadAll(ctx, kurrentdb.ReadAllOptions{Direction: kurrentdb.Forwards, From: from, RequiresLeader: true}, uint64(page))
			if err == nil {
				err = each(rs, func(r *kurrentdb.RecordedEvent) (bool, error) {
					n++
					p, err := toPosition(r.Position)
					if err != nil {
						return false, err
					}
					if !cursor.Less(p) { // a read from a position starts at that event
						return true, nil
					}
					cursor = p
					from = r.Position
					stream, ok := s.names.logical(r)
					if !ok {
						return true, nil
					}
					e, err := fromRecorded(r, stream)
					if err != nil {
						return false, err
					}
					out = append(out, e)
					return len(out) < limit, nil
				})
			}
			if err != nil {
				return nil, err
			}
			if n < page { // the end of $all
				break
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: read all after %v: %w", after, err)
	}
	return out, nil
}

// Head is the position of Tidemark's last event in $all (Start if none):
// $all read backwards until the first event that is ours.
func (s *Store) Head(ctx context.Context) (domain.Position, error) {
	const page = 256
	head, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (domain.Position, error) {
		var from kurrentdb.AllPosition = kurrentdb.End{}
		var cursor *domain.Position // the oldest position seen
		for {
			n := 0
			found, hit := domain.Start, false
			rs, err := c.ReadAll(ctx, kurrentdb.ReadAllOptions{Direction: kurrentdb.Backwards, From: from, RequiresLeader: true}, page)
			if err == nil {
				err = each(rs, func(r *kurrentdb.RecordedEvent) (bool, error) {
					n++
					p, err := toPosition(r.Position)
					if err != nil {
						return false, err
					}
					if cursor != nil && !p.Less(*cursor) {
						return true, nil
					}
					cursor, from = &p, r.Position
					if _, ok := s.names.logical(r); ok {
						found, hit = p, true
						return false, nil
					}
					return true, nil
				})
			}
			if err != nil || hit || n < page {
				return found, err
			}
		}
	})
	if err != nil {
		return domain.Position{}, fmt.Errorf("kurrentdb: head: %w", err)
	}
	return head, nil
}

// Ping reads the last record of $all: it checks that a node answers and
// that our credentials may read $all, which the store needs. Readiness
// checks can call it.
func (s *Store) Ping(ctx context.Context) error {
	_, err := call(s, ctx, func(ctx context.Context, c *kurrentdb.Client) (struct{}, error) {
		rs, err := c.ReadAll(ctx, kurrentdb.ReadAllOptions{Direction: kurrentdb.Backwards, From: kurrentdb.End{}}, 1)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, each(rs, func(*kurrentdb.RecordedEvent) (bool, error) { return false, nil })
	})
	return err
}
