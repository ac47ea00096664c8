package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
)

// deviceFold is the devices' keyed fold plus their per-order memory: a
// live batch loads the device_orders rows of the orders its events name
// (carwash.Callback.OrderRefs) into the loaded states, and writes back the
// rows those events changed; a rebuild holds every entry in memory and
// writes them all at the end. Cached states are kept without their
// entries, which the next batch loads again.
type deviceFold struct {
	*keyed[int64, carwash.DeviceState, carwash.Callback]
	live    bool                     // Load was called: a live batch
	touched map[deviceOrder]struct{} // a live batch's changed entries
}

// deviceOrder names one device_orders row.
type deviceOrder struct {
	iotID   int64
	kind    string
	orderID string
}

func compareDeviceOrders(a, b deviceOrder) int {
	return cmp.Or(cmp.Compare(a.iotID, b.iotID), strings.Compare(a.kind, b.kind), strings.Compare(a.orderID, b.orderID))
}

// refs are the device_orders rows an event reads and writes.
func refs(c *carwash.Callback, ks []int64, add func(deviceOrder)) {
	kind, ids := c.OrderRefs()
	for _, k := range ks {
		for _, id := range ids {
			add(deviceOrder{k, kind, id})
		}
	}
}

func (f *deviceFold) Load(ctx context.Context, tx *Tx, events []domain.Event) error {
	f.live = true
	rows := map[deviceOrder]struct{}{}
	err := f.loadFor(ctx, tx, events, func(c carwash.Callback, ks []int64) {
		refs(&c, ks, func(r deviceOrder) { rows[r] = struct{}{} })
	})
	if err != nil {
		return err
	}
	return f.loadEntries(ctx, tx, slices.SortedFunc(maps.Keys(rows), compareDeviceOrders))
}

// loadEntries reads the stored entries among want into their devices' states.
func (f *deviceFold) loadEntries(ctx context.Context, tx *Tx, want []deviceOrder) error {
	const chunk = 300 // 900 parameters on SQLite
	for i := 0; i < len(want); i += chunk {
		part := want[i:min(i+chunk, len(want))]
		q, args := entriesQuery(tx, part)
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("load device orders: %w", err)
		}
		for rows.Next() {
			var e carwash.OrderEntry
			var iotID int64
			var water []byte
			if err := rows.Scan(&iotID, &e.Kind, &e.OrderID, &water); err != nil {
				rows.Close()
				return fmt.Errorf("load device orders: %w", err)
			}
			if water != nil {
				if err := json.Unmarshal(water, &e.Water); err != nil {
					rows.Close()
					return fmt.Errorf("device %d order %s: %w", iotID, e.OrderID, err)
				}
			}
			s := f.states[iotID]
			s.Remember(e)
			f.states[iotID] = s
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("load device orders: %w", err)
		}
	}
	return nil
}

// entriesQuery selects the device_orders rows of part: one statement text
// with array parameters on PostgreSQL, a row-value list on SQLite.
//
// On PostgreSQL each wanted row is looked up on its own (LATERAL ...
// LIMIT 1, which the planner cannot turn into a plain join): as a join the
// statement's cached generic plan, made while the table was nearly empty,
// hashed the wanted rows and scanned the whole table for every batch.
func entriesQuery(tx *Tx, part []deviceOrder) (string, []any) {
	t := tx.Name(deviceOrdersTable.Name)
	if tx.q.f == flavorPostgres {
		ids, kinds, orders := make([]int64, len(part)), make([]string, len(part)), make([]string, len(part))
		for i, r := range part {
			ids[i], kinds[i], orders[i] = r.iotID, r.kind, r.orderID
		}
		return "SELECT d.iot_id, d.kind, d.order_id, d.water FROM unnest(?::bigint[], ?::text[], ?::text[]) AS u(i, k, o) " +
			"CROSS JOIN LATERAL (SELECT iot_id, kind, order_id, water FROM " + t +
			" WHERE iot_id = u.i AND kind = u.k AND order_id = u.o LIMIT 1) AS d", []any{ids, kinds, orders}
	}
	args := make([]any, 0, 3*len(part))
	for _, r := range part {
		args = append(args, r.iotID, r.kind, r.orderID)
	}
	return "SELECT d.iot_id, d.kind, d.order_id, d.water FROM " + t + " AS d WHERE (d.iot_id, d.kind, d.order_id) IN (VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(part)), ", ") + ")", args
}

func (f *deviceFold) Apply(e domain.Event) error {
	c, ks, err := f.parse(e)
	if err != nil {
		return err
	}
	if err := f.applyParsed(e, c, ks); err != nil {
		return err
	}
	if f.live {
		if f.touched == nil {
			f.touched = map[deviceOrder]struct{}{}
		}
		refs(&c, ks, func(r deviceOrder) { f.touched[r] = struct{}{} })
	}
	return nil
}

func (f *deviceFold) Flush(ctx context.Context, tx *Tx, final bool) error {
	if tx.mode == modeBulk && final {
		// Before the keyed flush, which lets go of the states.
		if err := tx.Write(ctx, deviceOrdersTable, f.allEntries()); err != nil {
			return err
		}
	}
	if err := f.keyed.Flush(ctx, tx, final); err != nil {
		return err
	}
	if tx.mode == modeBulk || len(f.touched) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(f.touched))
	for _, r := range slices.SortedFunc(maps.Keys(f.touched), compareDeviceOrders) { // key order: deterministic lock order
		s := f.states[r.iotID]
		e, ok := s.Entry(r.kind, r.orderID)
		if !ok {
			continue // the event did not apply to this device (a replay)
		}
		row, err := entryRow(r.iotID, e)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	clear(f.touched)
	return tx.Write(ctx, deviceOrdersTable, Rows(rows))
}

// keep caches the batch's states without their entries, so the cache's
// memory does not grow with the devices' orders.
func (f *deviceFold) keep() {
	for k, s := range f.states {
		s.Forget()
		f.states[k] = s
	}
	f.keyed.keep()
}

func entryRow(iotID int64, e carwash.OrderEntry) ([]any, error) {
	var water any
	if e.Kind == carwash.MemoryWater {
		b, err := json.Marshal(e.Water)
		if err != nil {
			return nil, fmt.Errorf("device %d order %s: %w", iotID, e.OrderID, err)
		}
		water = b
	}
	return []any{iotID, e.Kind, e.OrderID, water}, nil
}

// allEntries yields every entry of the fold's states in key order,
// rendering rows as they are read.
func (f *deviceFold) allEntries() RowSource {
	return &entryRows{f: f, keys: slices.Sorted(maps.Keys(f.states))}
}

type entryRows struct {
	f    *deviceFold
	keys []int64              // devices not yet read
	key  int64                // the device whose entries cur holds
	cur  []carwash.OrderEntry // its entries not yet yielded
	row  []any
	err  error
}

func (r *entryRows) Next() bool {
	for len(r.cur) == 0 {
		if len(r.keys) == 0 || r.err != nil {
			return false
		}
		r.key, r.keys = r.keys[0], r.keys[1:]
		s := r.f.states[r.key]
		r.cur = slices.AppendSeq(r.cur[:0], s.Entries)
		slices.SortFunc(r.cur, func(a, b carwash.OrderEntry) int { // key order: appends to SQLite's key
			return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.OrderID, b.OrderID))
		})
	}
	r.row, r.err = entryRow(r.key, r.cur[0])
	r.cur = r.cur[1:]
	return r.err == nil
}

func (r *entryRows) Values() ([]any, error) { return r.row, r.err }
func (r *entryRows) Err() error             { return r.err }
