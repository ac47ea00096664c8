package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidemark/tidemark/domain"
)

// rawCopyTable has the events table's columns and nothing else: no keys,
// no indexes, no sequence. COPY into it is the floor an import can reach.
const rawCopyTable = `CREATE TABLE bench_raw_copy (
	id uuid, stream text, stream_version bigint, type text,
	data json, raw bytea, metadata jsonb, recorded_at timestamptz)`

// importTarget is one store being loaded.
type importTarget struct {
	kind    string
	dsn     string
	st      *store
	cleanup func()
	took    time.Duration
	written int64
	err     error
}

// loadEvents generates o.Events events and imports them in batches into a
// fresh SQLite file and a fresh PostgreSQL database, batch by batch, timing
// each store's Import and (on PostgreSQL) a raw COPY of the same rows, so
// that noise hits import and baseline alike. With measure, the import
// figures are recorded; the loaded stores are kept for the rebuild.
func (b *bench) loadEvents(ctx context.Context, measure bool) {
	var targets []*importTarget
	for _, kind := range []string{kindSQLite, kindPostgres} {
		t := &importTarget{kind: kind}
		if !b.o.measured(kind) {
			t.err = errStoreNotSelected
			targets = append(targets, t)
			continue
		}
		dsn, cleanup, err := b.database(ctx, kind, "events")
		if err == nil {
			t.dsn, t.cleanup = dsn, cleanup
			t.st, err = openStore(ctx, kind, dsn)
			if err != nil {
				cleanup()
			}
		}
		if err != nil {
			t.err = err
		}
		targets = append(targets, t)
	}
	var raw *pgx.Conn
	var rawTook time.Duration
	var rawRows int64
	var rawErr error
	if pg := targets[1]; pg.kind == kindPostgres && pg.err == nil {
		raw, rawErr = pgx.Connect(ctx, pg.dsn)
		if rawErr == nil {
			_, rawErr = raw.Exec(ctx, rawCopyTable)
		}
		if raw != nil {
			defer raw.Close(context.WithoutCancel(ctx))
		}
	}

	tr := newTraffic(2)
	im := newImporter()
	generated := 0
	var total int64 // events handed to Import (ids seen before are left out)
	var genTook time.Duration
	b.logf("import: %d events in batches of %d", b.o.Events, b.o.ImportBatch)
	lastLog := time.Now()
	for generated < b.o.Events && ctx.Err() == nil {
		t0 := time.Now()
		ds, err := tr.next(min(b.o.ImportBatch, b.o.Events-generated))
		var evs []domain.ImportEvent
		if err == nil {
			evs, err = im.events(ds)
		}
		genTook += time.Since(t0)
		if err != nil {
			for _, t := range targets {
				if t.err == nil {
					t.err = fmt.Errorf("generating events: %w", err)
				}
			}
			break
		}
		generated += len(ds)
		total += int64(len(evs))
		for _, t := range targets {
			if t.err != nil {
				continue
			}
			t0 := time.Now()
			n, err := t.st.events.Import(ctx, evs)
			t.took += time.Since(t0)
			t.written += n
			if err != nil {
				t.err = fmt.Errorf("import: %w", err)
			}
			if t.kind == kindPostgres && raw != nil && rawErr == nil && measure {
				t0 := time.Now()
				n, err := copyRaw(ctx, raw, evs)
				rawTook += time.Since(t0)
				rawRows += n
				rawErr = err
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			b.logf("import: %d of %d events", generated, b.o.Events)
			lastLog = time.Now()
		}
	}
	b.sizes["bulk import / rebuild events (imported)"] = total
	b.logf("import: generated and decoded %d events in %s (not timed)", total, genTook.Round(time.Millisecond))
	if raw != nil && rawErr == nil {
		_, rawErr = raw.Exec(ctx, "DROP TABLE bench_raw_copy")
	}

	for _, t := range targets {
		id := "import." + t.kind + ".rate"
		if t.st != nil {
			if err := t.st.close(); err != nil && t.err == nil {
				t.err = fmt.Errorf("close: %w", err)
			}
		}
		if t.err == nil && ctx.Err() != nil {
			t.err = ctx.Err()
		}
		if t.err != nil {
			if measure {
				b.figs.skip(id, t.err.Error())
			}
			b.figs.skipPrefix("rebuild."+t.kind+".", "no events loaded: "+t.err.Error())
			if t.cleanup != nil {
				t.cleanup()
			}
			continue
		}
		b.loaded = append(b.loaded, loadedStore{kind: t.kind, dsn: t.dsn, events: t.written, cleanup: t.cleanup})
		if !measure {
			continue
		}
		rate := float64(total) / t.took.Seconds()
		note := fmt.Sprintf("%d events (%d written) in %s, %d per Import call", total, t.written, t.took.Round(time.Millisecond), b.o.ImportBatch)
		var base *float64
		if t.kind == kindPostgres {
			if rawErr == nil && rawRows > 0 {
				base = num(float64(rawRows) / rawTook.Seconds())
				note += fmt.Sprintf("; raw COPY of the same %d rows into a table with the same columns and no keys: %s", rawRows, rawTook.Round(time.Millisecond))
			} else if rawErr != nil {
				note += "; raw COPY baseline failed: " + rawErr.Error()
			}
		}
		b.figs.set(id, rate, base, note)
		b.logf("import: %s %.0f events/s", t.kind, rate)
	}
}

// copyRaw COPYs events into bench_raw_copy, preparing each row as Import does.
func copyRaw(ctx context.Context, conn *pgx.Conn, events []domain.ImportEvent) (int64, error) {
	src := pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		meta, err := json.Marshal(e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		return []any{e.ID, e.Stream, e.StreamVersion, e.Type, []byte(e.Data), e.Raw, meta, e.RecordedAt}, nil
	})
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_raw_copy"},
		[]string{"id", "stream", "stream_version", "type", "data", "raw", "metadata", "recorded_at"}, src)
	if err != nil {
		return n, fmt.Errorf("raw COPY: %w", err)
	}
	return n, nil
}
