package projections

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

// List limits (api.md).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Reader answers the API's read-model queries from the served version of
// each projection, so callers never see table names or versions. Every
// value is a bound parameter. It is safe for concurrent use.
type Reader struct {
	db        *bun.DB
	f         flavor
	interpret func(error) error
	docs      *DocCache

	mu     sync.Mutex
	served map[string]servedAt // by projection name, see servedTTL
}

// servedTTL is how long the Reader trusts a served version it read, so a
// query costs one round trip instead of two. Once it has passed, one query
// reads the version again while the others go on with the one they have:
// under load that read waits for a pool connection, and with every query
// of the wait reading it too (measured: 2,275 reads in 10 s of 2,000
// GETs/s, not 80) those reads made the GETs' slowest tenth. A switch shows
// at most this late plus that read: the replaced version's tables outlive
// the switch by DropGrace, and a query that fails on a dropped table
// resolves the version again.
const servedTTL = 250 * time.Millisecond

type servedAt struct {
	v          int
	at         time.Time // monotonic: a cache age, not a domain time
	refreshing bool      // a query is reading the version again
}

// ReaderOptions tune a Reader.
type ReaderOptions struct {
	// Interpret maps a database error to the domain errors (the store
	// adapter's InterpretError), so that, e.g., a server that went away is
	// domain.ErrUnavailable (503) and not an internal error. Nil keeps
	// errors as they are.
	Interpret func(error) error
	// Docs, if set, answers Device and Order from the served documents a
	// Runner on the same database keeps (Runner.DocCache), and is filled
	// with the rows they read. Leave it nil when db is a replica: its rows
	// may be older than the cache's.
	Docs *DocCache
}

// NewReader returns a Reader over db (a replica, or SQLite's reader handle, will do).
func NewReader(db *bun.DB, opts ReaderOptions) (*Reader, error) {
	f, err := flavorOf(db)
	if err != nil {
		return nil, err
	}
	if opts.Interpret == nil {
		opts.Interpret = func(err error) error { return err }
	}
	return &Reader{db: db, f: f, interpret: opts.Interpret, docs: opts.Docs, served: map[string]servedAt{}}, nil
}

// DeviceFilter narrows Devices; zero fields do not filter.
type DeviceFilter struct {
	MachineType string
	Online      *bool
	ErrorStatus string
	Parking     string // parking status: SUCCESS, FAIL, FORWARD, BACK, WAIT, UNKNOWN
}

// OrderFilter narrows Orders; zero fields do not filter.
type OrderFilter struct {
	State          *int64 // state code 0, 1, 2
	ReceiveAddress string
}

// errNotServed: the projection has no served version yet (nothing applied).
var errNotServed = errors.New("projection not served yet")

func (r *Reader) q() sqlq { return sqlq{r.f, r.db.DB} }

// servedCached is the served version, read at most servedTTL ago, or the
// one read last while another query reads it again.
func (r *Reader) servedCached(ctx context.Context, name string) (int, error) {
	r.mu.Lock()
	sv, ok := r.served[name]
	refresh := !ok
	if ok && !sv.refreshing && time.Since(sv.at) >= servedTTL {
		sv.refreshing = true
		r.served[name] = sv
		refresh = true
	}
	r.mu.Unlock()
	if !refresh {
		return sv.v, nil
	}
	v, err := r.servedNow(ctx, name)
	if err != nil && ok { // let the next query try again
		r.mu.Lock()
		if cur, found := r.served[name]; found {
			cur.refreshing = false
			r.served[name] = cur
		}
		r.mu.Unlock()
	}
	return v, err
}

// servedNow reads the served version (and caches it).
func (r *Reader) servedNow(ctx context.Context, name string) (int, error) {
	var v int
	err := r.q().queryRow(ctx, `SELECT served_version FROM projection_versions WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotServed
	}
	if err != nil {
		return 0, fmt.Errorf("served version of %s: %w", name, err)
	}
	r.mu.Lock()
	r.served[name] = servedAt{v: v, at: time.Now()}
	r.mu.Unlock()
	return v, nil
}

// onServed runs fn on the served table of a projection. If fn fails and the
// served version changed meanwhile (a switch, then the drop of the old
// tables), it runs once more on the new version.
// Database errors come out interpreted (ReaderOptions.Interpret).
func (r *Reader) onServed(ctx context.Context, name, base string, fn func(table string) error) error {
	return r.onServedVersion(ctx, name, base, func(table string, _ int) error { return fn(table) })
}

// onServedVersion is onServed for an fn that needs the version too.
func (r *Reader) onServedVersion(ctx context.Context, name, base string, fn func(table string, version int) error) error {
	v, err := r.servedCached(ctx, name)
	if err != nil {
		return r.interpret(err)
	}
	err = fn(quote(physical(base, versionSuffix(v))), v)
	if err == nil || errors.Is(err, domain.ErrNotFound) || ctx.Err() != nil {
		return err
	}
	if v2, err2 := r.servedNow(ctx, name); err2 == nil && v2 != v {
		err = fn(quote(physical(base, versionSuffix(v2))), v2)
	}
	return r.interpret(err)
}

// document reads the served document of one key (docCol of the row whose
// keyCol is key) from the DocCache, or from the database, filling the
// cache, and decodes it (the cached bytes are shared, only ever decoded).
func document[T any, K cmp.Ordered](ctx context.Context, r *Reader, name string, t *Table, keyCol, docCol string, key K) (T, error) {
	var out T
	var doc []byte
	skey := keyString(key)
	err := r.onServedVersion(ctx, name, t.Name, func(table string, v int) error {
		cached, token, ok := r.docs.get(name, v, skey)
		if ok {
			doc = cached
			return nil
		}
		doc = nil
		err := r.q().queryRow(ctx, `SELECT `+quote(docCol)+` FROM `+table+` WHERE `+quote(keyCol)+` = ?`, key).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.ErrNotFound
		}
		if err != nil {
			return err
		}
		r.docs.fill(name, v, skey, doc, token)
		return nil
	})
	if errors.Is(err, errNotServed) {
		return out, domain.ErrNotFound
	}
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(doc, &out)
	return out, err
}

// Device returns one device; domain.ErrNotFound if no callback named it.
func (r *Reader) Device(ctx context.Context, iotID int64) (carwash.Device, error) {
	d, err := document[carwash.Device](ctx, r, "devices", devicesTable, "iot_id", "device", iotID)
	if err != nil {
		return d, fmt.Errorf("device %d: %w", iotID, err)
	}
	return d, nil
}

// Devices lists devices by iotId, limit at a time (DefaultLimit when <= 0,
// at most MaxLimit), after cursor ("" for the first page). nextCursor is
// "" on the last page. A cursor this method did not produce is an error
// wrapping domain.ErrInvalidPosition.
func (r *Reader) Devices(ctx context.Context, f DeviceFilter, cursor string, limit int) ([]carwash.Device, string, error) {
	limit = clampLimit(limit)
	var after *int64
	if cursor != "" {
		k, err := decodeCursor(cursor, "d")
		if err != nil {
			return nil, "", err
		}
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
		}
		after = &id
	}
	var where []string
	var args []any
	if f.MachineType != "" {
		where, args = append(where, "machine_type = ?"), append(args, f.MachineType)
	}
	if f.Online != nil {
		where, args = append(where, "online = ?"), append(args, r.f.encode(Bool, *f.Online))
	}
	if f.ErrorStatus != "" {
		where, args = append(where, "error_status = ?"), append(args, f.ErrorStatus)
	}
	if f.Parking != "" {
		where, args = append(where, "parking_status = ?"), append(args, f.Parking)
	}
	if after != nil {
		where, args = append(where, "iot_id > ?"), append(args, *after)
	}
	args = append(args, limit+1)
	var out []carwash.Device
	var keys []int64
	err := r.onServed(ctx, "devices", devicesTable.Name, func(t string) error {
		out, keys = out[:0], keys[:0]
		rows, err := r.q().query(ctx, `SELECT iot_id, device FROM `+t+whereSQL(where)+` ORDER BY iot_id LIMIT ?`, args...)
		if err != nil {
			return fmt.Errorf("devices: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				return fmt.Errorf("devices: %w", err)
			}
			var d carwash.Device
			if err := json.Unmarshal(doc, &d); err != nil {
				return fmt.Errorf("device %d: %w", id, err)
			}
			out, keys = append(out, d), append(keys, id)
		}
		return rows.Err()
	})
	if errors.Is(err, errNotServed) {
		return []carwash.Device{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor("d", strconv.FormatInt(keys[limit-1], 10))
	}
	if out == nil {
		out = []carwash.Device{}
	}
	return out, next, nil
}

// Order returns one order; domain.ErrNotFound if no callback named it.
func (r *Reader) Order(ctx context.Context, orderID string) (energy.Order, error) {
	o, err := document[energy.Order](ctx, r, "orders", ordersTable, "order_id", "doc", orderID)
	if err != nil {
		return o, fmt.Errorf("order %q: %w", orderID, err)
	}
	return o, nil
}

// Orders lists orders by orderId, paged like Devices.
func (r *Reader) Orders(ctx context.Context, f OrderFilter, cursor string, limit int) ([]energy.Order, string, error) {
	limit = clampLimit(limit)
	var where []string
	var args []any
	if f.State != nil {
		where, args = append(where, "state_code = ?"), append(args, *f.State)
	}
	if f.ReceiveAddress != "" {
		where, args = append(where, "receive_address = ?"), append(args, f.ReceiveAddress)
	}
	if cursor != "" {
		k, err := decodeCursor(cursor, "o")
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "order_id > ?"), append(args, k)
	}
	args = append(args, limit+1)
	var out []energy.Order
	var keys []string
	err := r.onServed(ctx, "orders", ordersTable.Name, func(t string) error {
		out, keys = out[:0], keys[:0]
		rows, err := r.q().query(ctx, `SELECT order_id, doc FROM `+t+whereSQL(where)+` ORDER BY order_id LIMIT ?`, args...)
		if err != nil {
			return fmt.Errorf("orders: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				return fmt.Errorf("orders: %w", err)
			}
			var o energy.Order
			if err := json.Unmarshal(doc, &o); err != nil {
				return fmt.Errorf("order %q: %w", id, err)
			}
			out, keys = append(out, o), append(keys, id)
		}
		return rows.Err()
	})
	if errors.Is(err, errNotServed) {
		return []energy.Order{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor("o", keys[limit-1])
	}
	if out == nil {
		out = []energy.Order{}
	}
	return out, next, nil
}

// Ledger returns an order's ledger entries in log order (empty, not an
// error, for an order without charges or unknown).
func (r *Reader) Ledger(ctx context.Context, orderID string) ([]energy.LedgerEntry, error) {
	var out []energy.LedgerEntry
	err := r.onServed(ctx, "ledger", ledgerTable.Name, func(t string) error {
		out = out[:0]
		rows, err := r.q().query(ctx, `SELECT event_id, order_id, tx_id, seq, recorded_at, total_delegate_nums, hash,
			energy_nums, order_money_sun, recharge, state FROM `+t+` WHERE order_id = ? ORDER BY tx_id, seq`, orderID)
		if err != nil {
			return fmt.Errorf("ledger of %q: %w", orderID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				eventID, oid, hash                           string
				txID, seq, total, energyN, money, rech, stat int64
				at                                           timeScanner
			)
			if err := rows.Scan(&eventID, &oid, &txID, &seq, &at, &total, &hash, &energyN, &money, &rech, &stat); err != nil {
				return fmt.Errorf("ledger of %q: %w", orderID, err)
			}
			out = append(out, ledgerEntry(eventID, oid, txID, seq, at.t, total, hash, energyN, money, rech, stat))
		}
		return rows.Err()
	})
	if errors.Is(err, errNotServed) {
		return []energy.LedgerEntry{}, nil
	}
	if out == nil && err == nil {
		out = []energy.LedgerEntry{}
	}
	return out, err
}

func whereSQL(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Cursors are opaque to clients: base64url of "<kind>:<last key>".
func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(c, kind string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
	}
	k, ok := strings.CutPrefix(string(b), kind+":")
	if !ok || k == "" {
		return "", fmt.Errorf("cursor: %w", domain.ErrInvalidPosition)
	}
	return k, nil
}
