package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Copy is a point-in-time copy of a projection (RebuildOptions.Until):
// tables suffixed _asof_YYYYMMDDTHHMMSS that nothing serves, kept for
// analysts until dropped with DropCopy.
type Copy struct {
	Projection string
	Until      time.Time // whole seconds, UTC
	Tables     []string
}

// asOfLayout is the time in an _asof_ suffix (asOfSuffix).
const asOfLayout = "20060102T150405"

// Copies runs Runner.Copies with a Runner made from cfg (the rebuild command).
func Copies(ctx context.Context, cfg Config) ([]Copy, error) {
	var out []Copy
	err := withRunner(cfg, func(r *Runner) (err error) {
		out, err = r.Copies(ctx)
		return err
	})
	return out, err
}

// DropCopy runs Runner.DropCopy with a Runner made from cfg (the rebuild command).
func DropCopy(ctx context.Context, cfg Config, until time.Time, names []string) ([]string, error) {
	var out []string
	err := withRunner(cfg, func(r *Runner) (err error) {
		out, err = r.DropCopy(ctx, until, names)
		return err
	})
	return out, err
}

// Copies lists the point-in-time copies in the database, by projection
// and then time. A copy whose build died shows too (DropCopy removes it).
func (r *Runner) Copies(ctx context.Context) ([]Copy, error) {
	listSQL := `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE '%\_asof\_%'`
	if r.f == flavorSQLite {
		listSQL = `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_asof\_%' ESCAPE '\'`
	}
	rows, err := sqlq{r.f, r.cfg.DB.DB}.query(ctx, listSQL)
	if err != nil {
		return nil, fmt.Errorf("list point-in-time copies: %w", err)
	}
	defer rows.Close()
	byKey := map[string]*Copy{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list point-in-time copies: %w", err)
		}
		base, stamp, ok := strings.Cut(name, "_asof_")
		if !ok {
			continue
		}
		until, err := time.Parse(asOfLayout, stamp)
		if err != nil {
			continue // not one of ours
		}
		p := r.projectionOfTable(base)
		if p == "" {
			continue
		}
		key := p + "\x00" + stamp
		c := byKey[key]
		if c == nil {
			c = &Copy{Projection: p, Until: until.UTC()}
			byKey[key] = c
		}
		c.Tables = append(c.Tables, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list point-in-time copies: %w", err)
	}
	out := make([]Copy, 0, len(byKey))
	for _, c := range byKey {
		slices.Sort(c.Tables)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Copy) int {
		if c := strings.Compare(a.Projection, b.Projection); c != 0 {
			return c
		}
		return a.Until.Compare(b.Until)
	})
	return out, nil
}

// projectionOfTable names the projection owning a base table name, or "".
func (r *Runner) projectionOfTable(base string) string {
	for _, pr := range r.procs {
		for _, t := range pr.p.Tables() {
			if t.Name == base {
				return pr.p.Name()
			}
		}
	}
	return ""
}

// DropCopy drops the point-in-time copies made with RebuildOptions.Until
// = until (to the second) of the named projections (all when empty) and
// returns the tables dropped. It holds the projections' rebuild leases
// meanwhile, so a copy being built is not dropped under it
// (ErrRebuildInProgress).
func (r *Runner) DropCopy(ctx context.Context, until time.Time, names []string) ([]string, error) {
	ps, err := r.resolve(names)
	if err != nil {
		return nil, err
	}
	leases, err := r.takeRebuildLeases(ctx, ps)
	if err != nil {
		return nil, err
	}
	defer releaseAll(leases)
	copies, err := r.Copies(ctx)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, p := range ps {
		for _, c := range copies {
			if c.Projection != p.Name() || !c.Until.Equal(until.UTC().Truncate(time.Second)) {
				continue
			}
			if err := r.inTx(ctx, func(q sqlq, _ rawConn) error {
				return dropTables(ctx, q, p, asOfSuffix(until))
			}); err != nil {
				return dropped, fmt.Errorf("drop copy of %s at %s: %w", p.Name(), c.Until.Format(time.RFC3339), err)
			}
			dropped = append(dropped, c.Tables...)
		}
	}
	return dropped, nil
}
