package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain/carwash"
)

// A device's per-order memory lives in device_orders: its row keeps its
// size as orders come, and an order seen in an earlier batch, whether the
// state comes from the cache or from the row, is not counted again.
func TestDeviceOrdersAcrossBatches(t *testing.T) {
	for _, cache := range []int{0, -1} { // the default cache, and none
		eachDialect(t, func(t *testing.T, e *env) {
			ctx := ctxFor(t, 2*time.Minute)
			const dev, orders = 777, 120
			at := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
			var ds []delivery
			body := func(i int, typ, extra string) delivery {
				b := fmt.Sprintf(`{"callTime":%d,"callbackType":%q,"iotId":%d,%s}`, at.UnixMilli()+int64(i), typ, dev, extra)
				return delivery{source: carwash.Source, raw: []byte(b), receivedAt: at}
			}
			for i := range orders {
				ds = append(ds, body(i, carwash.FinishWash, fmt.Sprintf(`"orderId":"W%03d"`, i)))
				ds = append(ds, body(i, carwash.TT1CarPushOut, fmt.Sprintf(`"orderIdList":["T%03d","T%03d"]`, i, i/2)))
				ds = append(ds, body(i, carwash.WP1WorkFinish, fmt.Sprintf(`"orderId":"P%03d","volume":%d`, i, i)))
			}
			// The same orders again, later and so as other events (not
			// duplicates the store drops): none may count twice.
			for i := range orders {
				ds = append(ds, body(10_000+i, carwash.FinishWash, fmt.Sprintf(`"orderId":"W%03d"`, i)))
				ds = append(ds, body(10_000+i, carwash.WP1WorkFinish, fmt.Sprintf(`"orderId":"P%03d","volume":1`, i)))
			}
			deliver(t, ctx, e.store, ds)

			r := e.runner(t, func(c *Config) { c.BatchSize, c.CacheStates = 17, cache })
			tgt, err := r.prepare(ctx, r.byName["devices"])
			if err != nil {
				t.Fatal(err)
			}
			events, err := e.store.ReadAll(ctx, tgt.pos, 0)
			if err != nil {
				t.Fatal(err)
			}
			stateSizes := []int{}
			for i := 0; i < len(events); i += 17 {
				if err := r.applyBatch(ctx, tgt, events[i:min(i+17, len(events))]); err != nil {
					t.Fatal(err)
				}
				var n int
				q := e.rebindQ(`SELECT length(CAST(state AS TEXT)) FROM devices_v1 WHERE iot_id = ?`)
				if err := e.db.DB.QueryRowContext(ctx, q, dev).Scan(&n); err != nil {
					t.Fatal(err)
				}
				stateSizes = append(stateSizes, n)
			}
			d, err := e.reader(t).Device(ctx, dev)
			if err != nil {
				t.Fatal(err)
			}
			if d.WashesCompleted != orders || d.Tunnel.PushedOutOrders != orders || d.WaterPurifier == nil || d.WaterPurifier.DispensesCompleted != orders {
				t.Fatalf("counts: washes %d, pushed out %d, water %+v; want %d each", d.WashesCompleted, d.Tunnel.PushedOutOrders, d.WaterPurifier, orders)
			}
			if n := countRows(t, e, "device_orders_v1"); n != 3*orders {
				t.Errorf("device_orders rows: %d, want %d", n, 3*orders)
			}
			if first, last := stateSizes[0], stateSizes[len(stateSizes)-1]; last > first+200 {
				t.Errorf("the device's state grew with its orders: %d bytes after the first batch, %d after the last", first, last)
			}
			live := readAll(t, e.reader(t))
			if _, err := r.Rebuild(ctx, RebuildOptions{Projections: []string{"devices"}}); err != nil {
				t.Fatal(err)
			}
			sameDump(t, "rebuild vs live batches", readAll(t, e.reader(t)), live)
			if n := countRows(t, e, "device_orders_v2"); n != 3*orders {
				t.Errorf("rebuilt device_orders rows: %d, want %d", n, 3*orders)
			}
		})
	}
}
