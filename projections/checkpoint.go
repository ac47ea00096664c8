package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// errCheckpointMoved: the stored checkpoint is not the one this runner
// last wrote (another process applied, or a rebuild switched versions).
// The batch is rolled back and the runner reloads: no double apply.
var errCheckpointMoved = errors.New("projection checkpoint moved under us")

// errServedChanged: the served version is not the one being applied.
var errServedChanged = errors.New("projection served version changed")

// versions is a projection's row of projection_versions.
type versions struct {
	Served       int
	Code         int // code version of the served tables
	Building     int // 0 when no rebuild is under way
	BuildingCode int
}

// loadVersions reads the row; ok is false when the projection has none yet.
// lock takes a row lock on PostgreSQL (shared for batches, exclusive for
// a switch) so a switch and a batch never interleave.
func loadVersions(ctx context.Context, q sqlq, name string, lock string) (versions, bool, error) {
	var v versions
	var b, bc sql.NullInt64
	err := q.queryRow(ctx, `SELECT served_version, code_version, building_version, building_code_version
		FROM projection_versions WHERE name = ?`+lock, name).Scan(&v.Served, &v.Code, &b, &bc)
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("read projection_versions of %s: %w", name, err)
	}
	v.Building, v.BuildingCode = int(b.Int64), int(bc.Int64)
	return v, true, nil
}

func readCheckpoint(ctx context.Context, q sqlq, name string, version int) (domain.Position, error) {
	var tx, seq int64
	err := q.queryRow(ctx, `SELECT tx_id, seq FROM projection_checkpoints WHERE name = ? AND version = ?`,
		name, version).Scan(&tx, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Start, nil
	}
	if err != nil {
		return domain.Start, fmt.Errorf("read checkpoint of %s v%d: %w", name, version, err)
	}
	return domain.Position{TxID: uint64(tx), Seq: seq}, nil
}

// setCheckpoint writes the checkpoint unconditionally (new versions).
func setCheckpoint(ctx context.Context, q sqlq, name string, version int, p domain.Position, now time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO projection_checkpoints (name, version, tx_id, seq, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name, version) DO UPDATE SET tx_id = excluded.tx_id, seq = excluded.seq, updated_at = excluded.updated_at`,
		name, version, int64(p.TxID), p.Seq, q.f.timeArg(now))
	if err != nil {
		return fmt.Errorf("write checkpoint of %s v%d: %w", name, version, err)
	}
	return nil
}

// advanceCheckpoint moves the checkpoint from old to next, failing with
// errCheckpointMoved if it is not at old: compare-and-set in the batch's
// own transaction.
func advanceCheckpoint(ctx context.Context, q sqlq, name string, version int, old, next domain.Position, now time.Time) error {
	// On PostgreSQL the batch's commit need not wait for its WAL flush
	// (synchronous_commit off, for this transaction only, set here to save
	// a round trip): a crash can lose only whole recent batches, read
	// models and checkpoint together, which the runner then applies again.
	// Appends to the log stay synchronous.
	async := ""
	if q.f == flavorPostgres {
		async = ` AND set_config('synchronous_commit', 'off', true) = 'off'`
	}
	res, err := q.exec(ctx, `UPDATE projection_checkpoints SET tx_id = ?, seq = ?, updated_at = ?
		WHERE name = ? AND version = ? AND tx_id = ? AND seq = ?`+async,
		int64(next.TxID), next.Seq, q.f.timeArg(now), name, version, int64(old.TxID), old.Seq)
	if err != nil {
		return fmt.Errorf("write checkpoint of %s v%d: %w", name, version, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("write checkpoint of %s v%d: %w", name, version, err)
	}
	if n != 1 {
		return fmt.Errorf("%s v%d at %s: %w", name, version, old, errCheckpointMoved)
	}
	return nil
}

func deleteCheckpoint(ctx context.Context, q sqlq, name string, version int) error {
	if _, err := q.exec(ctx, `DELETE FROM projection_checkpoints WHERE name = ? AND version = ?`, name, version); err != nil {
		return fmt.Errorf("delete checkpoint of %s v%d: %w", name, version, err)
	}
	return nil
}

// createTables creates one version's tables. withKey=false leaves out key
// and indexes on PostgreSQL for a faster COPY; finishTables adds them.
func createTables(ctx context.Context, q sqlq, p Projection, suffix string, withKey bool) error {
	for _, t := range p.Tables() {
		name := physical(t.Name, suffix)
		if _, err := q.exec(ctx, dropSQL(name)); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		if _, err := q.exec(ctx, t.createSQL(q.f, name, withKey)); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		if withKey {
			if err := createIndexes(ctx, q, t, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func finishTables(ctx context.Context, q sqlq, p Projection, suffix string) error {
	for _, t := range p.Tables() {
		name := physical(t.Name, suffix)
		for _, s := range t.keySQL(q.f, name) {
			if _, err := q.exec(ctx, s); err != nil {
				return fmt.Errorf("key of %s: %w", name, err)
			}
		}
		if err := createIndexes(ctx, q, t, name); err != nil {
			return err
		}
		if q.f == flavorPostgres {
			if _, err := q.exec(ctx, "ANALYZE "+quote(name)); err != nil {
				return fmt.Errorf("analyze %s: %w", name, err)
			}
		}
	}
	return nil
}

func createIndexes(ctx context.Context, q sqlq, t *Table, name string) error {
	stmts, err := t.indexSQL(name)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := q.exec(ctx, s); err != nil {
			return fmt.Errorf("index of %s: %w", name, err)
		}
	}
	return nil
}

func dropTables(ctx context.Context, q sqlq, p Projection, suffix string) error {
	for _, t := range p.Tables() {
		if _, err := q.exec(ctx, dropSQL(physical(t.Name, suffix))); err != nil {
			return fmt.Errorf("drop %s: %w", physical(t.Name, suffix), err)
		}
	}
	return nil
}

// tableNames maps a projection's base table names to one version's names.
func tableNames(p Projection, suffix string) map[string]string {
	m := map[string]string{}
	for _, t := range p.Tables() {
		m[t.Name] = physical(t.Name, suffix)
	}
	return m
}

// bootstrap makes version 1 the served version of a projection that has
// none: its tables, its row in projection_versions and a checkpoint at the
// start of the log, in one transaction. Concurrent callers are safe: only
// the one whose insert lands creates anything.
func bootstrap(ctx context.Context, q sqlq, p Projection, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO projection_versions (name, served_version, code_version, updated_at)
		VALUES (?, 1, ?, ?) ON CONFLICT (name) DO NOTHING`, p.Name(), p.Version(), q.f.timeArg(now))
	if err != nil {
		return false, fmt.Errorf("bootstrap %s: %w", p.Name(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if err := createTables(ctx, q, p, versionSuffix(1), true); err != nil {
		return false, fmt.Errorf("bootstrap %s: %w", p.Name(), err)
	}
	if err := setCheckpoint(ctx, q, p.Name(), 1, domain.Start, now); err != nil {
		return false, fmt.Errorf("bootstrap %s: %w", p.Name(), err)
	}
	return true, nil
}
