package projections

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

func TestReaderFiltersAndCursors(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, time.Minute)
		rd := e.reader(t)
		// Before anything is projected: empty lists, not found.
		if ds, next, err := rd.Devices(ctx, DeviceFilter{}, "", 0); err != nil || len(ds) != 0 || next != "" {
			t.Fatalf("empty devices: %v %v %q", ds, err, next)
		}
		if _, err := rd.Device(ctx, 1); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("device before any projection: %v", err)
		}
		if _, err := rd.Order(ctx, "E1"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("order before any projection: %v", err)
		}

		at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		var ds []delivery
		cw := func(body string) {
			ds = append(ds, delivery{source: carwash.Source, raw: []byte(body), receivedAt: at})
		}
		for i := int64(1); i <= 7; i++ {
			mt, online, es := "NFULL_AUTO_1", "ONLINE", "OK"
			if i%2 == 0 {
				mt, online = "NTUNNEL_1", "OFFLINE"
			}
			if i == 3 {
				es = "ERROR"
			}
			cw(fmt.Sprintf(`{"callTime":%d,"callbackType":"MACHINE_UPDATE_INFO","iotId":%d,"machineType":%q,"onlineStatus":%q,"errorStatus":%q}`,
				1732262400000+i, i, mt, online, es))
		}
		cw(`{"callTime":1732262500000,"callbackType":"MACHINE_FA_CAR_CHANGE","iotId":5,"status":"ENTER"}`)
		cw(`{"callTime":1732262500001,"callbackType":"ZY_RT_PARK_CHANGE","iotId":6,"status":16}`)
		cw(`{"callTime":1732262500002,"callbackType":"FINISH_WASH","iotId":8,"orderId":"O1"}`) // online unknown
		sc := newScenario(81, 1, 1)
		addr := sc.addresses[0]
		en := func(id string, total, state, money int) {
			ds = append(ds, delivery{source: energy.Source, receivedAt: at, raw: []byte(fmt.Sprintf(
				`{"orderId":%q,"receiveAddress":%q,"state":%d,"totalDelegateNums":%d,"maxDelegateNums":10,"orderMoney":%d,"hash":%q}`,
				id, addr, state, total, money, randHex(sc.rng, 32)))})
		}
		en("E1", 1, 1, 0)
		en("E1", 2, 1, 2000000)
		en("E1", 3, 1, 3000000)
		en("E2", 1, 2, 1000000)
		en("E3", 1, 0, 500000)
		ds = append(ds, delivery{source: energy.Source, receivedAt: at, raw: []byte(`{"orderId":"E4","receiveAddress":"","state":1}`)})
		ds = append(ds, delivery{source: energy.Source, receivedAt: at, raw: []byte(`{"orderId":"E5","orderMoney":5}`)}) // no state yet
		deliver(t, ctx, e.store, ds)
		r := e.runner(t)
		start(t, r)
		waitCaughtUp(t, e, r)

		ids := func(devs []carwash.Device) []int64 {
			var out []int64
			for _, d := range devs {
				out = append(out, d.IotID)
			}
			return out
		}
		yes, no := true, false
		for _, c := range []struct {
			f    DeviceFilter
			want []int64
		}{
			{DeviceFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
			{DeviceFilter{MachineType: "NTUNNEL_1"}, []int64{2, 4, 6}},
			{DeviceFilter{Online: &yes}, []int64{1, 3, 5, 7}},
			{DeviceFilter{Online: &no}, []int64{2, 4, 6}},
			{DeviceFilter{ErrorStatus: "ERROR"}, []int64{3}},
			{DeviceFilter{Parking: "FORWARD"}, []int64{5, 6}},
			{DeviceFilter{MachineType: "NTUNNEL_1", Parking: "FORWARD"}, []int64{6}},
			{DeviceFilter{MachineType: "NOPE' OR 1=1 --"}, nil},
		} {
			var got []int64
			cursor := ""
			for pages := 0; ; pages++ {
				page, next, err := rd.Devices(ctx, c.f, cursor, 2)
				if err != nil {
					t.Fatalf("%+v: %v", c.f, err)
				}
				if len(page) > 2 || pages > 10 {
					t.Fatalf("%+v: page of %d", c.f, len(page))
				}
				got = append(got, ids(page)...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("devices %+v = %v, want %v", c.f, got, c.want)
			}
		}
		d, err := rd.Device(ctx, 6)
		if err != nil || d.Parking == nil || d.Parking.Status != "FORWARD" || d.MachineType == nil || *d.MachineType != "NTUNNEL_1" {
			t.Errorf("device 6: %+v %v", d, err)
		}
		if d, _ := rd.Device(ctx, 8); d.Online != nil || d.WashesCompleted != 1 {
			t.Errorf("device 8: %+v", d)
		}
		if _, err := rd.Device(ctx, 999); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("missing device: %v", err)
		}

		for _, bad := range []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte("o:E1")),
			base64.RawURLEncoding.EncodeToString([]byte("d:abc")), base64.RawURLEncoding.EncodeToString([]byte("d:"))} {
			if _, _, err := rd.Devices(ctx, DeviceFilter{}, bad, 10); !errors.Is(err, domain.ErrInvalidPosition) {
				t.Errorf("devices cursor %q: %v", bad, err)
			}
		}
		if _, _, err := rd.Orders(ctx, OrderFilter{}, base64.RawURLEncoding.EncodeToString([]byte("d:1")), 10); !errors.Is(err, domain.ErrInvalidPosition) {
			t.Errorf("orders with a devices cursor: %v", err)
		}

		oids := func(f OrderFilter) []string {
			var out []string
			cursor := ""
			for {
				page, next, err := rd.Orders(ctx, f, cursor, 1)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page {
					out = append(out, o.OrderID)
				}
				if next == "" {
					return out
				}
				cursor = next
			}
		}
		two, one := int64(2), int64(1)
		if got := oids(OrderFilter{}); !slices.Equal(got, []string{"E1", "E2", "E3", "E4", "E5"}) {
			t.Errorf("orders = %v", got)
		}
		if got := oids(OrderFilter{State: &two}); !slices.Equal(got, []string{"E2"}) {
			t.Errorf("deleted orders = %v", got)
		}
		if got := oids(OrderFilter{State: &one}); !slices.Equal(got, []string{"E1", "E4"}) {
			t.Errorf("delegating orders = %v", got)
		}
		if got := oids(OrderFilter{ReceiveAddress: addr}); !slices.Equal(got, []string{"E1", "E2", "E3"}) {
			t.Errorf("orders of %s = %v", addr, got)
		}
		o, err := rd.Order(ctx, "E1")
		if err != nil || o.ChargedSun != 5000000 || o.ChargedTrx != "5.000000" || o.Callbacks != 3 || o.StateCode == nil || *o.StateCode != 1 {
			t.Errorf("order E1: %+v %v", o, err)
		}
		if o, err := rd.Order(ctx, "E5"); err != nil || o.State != nil || o.StateCode != nil || o.ChargedSun != 5 {
			t.Errorf("order E5, never sent a state: %+v %v", o, err)
		}
		le, err := rd.Ledger(ctx, "E1")
		if err != nil || len(le) != 2 || le[0].OrderMoneySun != 2000000 || le[1].OrderMoneySun != 3000000 ||
			!le[0].Position.Less(le[1].Position) || le[0].RecordedAt.IsZero() || le[1].TotalDelegateNums != 3 || le[0].EventID == "" {
			t.Errorf("ledger E1: %+v %v", le, err)
		}
		if le, err := rd.Ledger(ctx, "E4"); err != nil || len(le) != 0 || le == nil {
			t.Errorf("ledger of an order without charges: %#v %v", le, err)
		}
	})
}

func TestClampLimit(t *testing.T) {
	for in, want := range map[int]int{-1: 100, 0: 100, 1: 1, 1000: 1000, 1001: 1000, 5000: 1000} {
		if got := clampLimit(in); got != want {
			t.Errorf("clampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

// A database that is gone answers every query with domain.ErrUnavailable
// (503 at the API), through the adapter's mapping, not as an internal error.
func TestReaderStoreGoneIsUnavailable(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rd := e.reader(t)
		if _, err := rd.Device(ctx, 1); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Device before the close: %v, want not found", err)
		}
		if err := e.close(); err != nil {
			t.Fatal(err)
		}
		_, errDevice := rd.Device(ctx, 1)
		_, _, errDevices := rd.Devices(ctx, DeviceFilter{}, "", 10)
		_, errOrder := rd.Order(ctx, "o-1")
		_, _, errOrders := rd.Orders(ctx, OrderFilter{}, "", 10)
		_, errLedger := rd.Ledger(ctx, "o-1")
		for name, err := range map[string]error{"Device": errDevice, "Devices": errDevices, "Order": errOrder,
			"Orders": errOrders, "Ledger": errLedger} {
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Errorf("%s with the database closed: %v, want domain.ErrUnavailable", name, err)
			}
		}
	})
}

// Once the served version's TTL has passed, one query reads it again and
// the others keep the one they have instead of all reading it at once.
func TestReaderRereadsTheServedVersionOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := ctxFor(t, time.Minute)
		deliver(t, ctx, e.store, newScenario(3, 2, 2).deliveries(20, 0.5))
		r := e.runner(t)
		start(t, r)
		waitCaughtUp(t, e, r)
		rd := e.reader(t)
		want, err := rd.servedNow(ctx, "devices")
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)

		// Another query is reading it again: this one goes on with the old.
		rd.served["devices"] = servedAt{v: 99, at: old, refreshing: true}
		if v, err := rd.servedCached(ctx, "devices"); err != nil || v != 99 {
			t.Fatalf("while another query rereads: %d, %v; want the version it had, 99", v, err)
		}
		// No one is: this query reads it.
		rd.served["devices"] = servedAt{v: 99, at: old}
		if v, err := rd.servedCached(ctx, "devices"); err != nil || v != want {
			t.Fatalf("stale: %d, %v; want %d", v, err, want)
		}
		if sv := rd.served["devices"]; sv.refreshing || time.Since(sv.at) > time.Minute {
			t.Fatalf("after the reread: %+v", sv)
		}
		// A failed reread lets the next query try.
		rd.served["devices"] = servedAt{v: 99, at: old}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := rd.servedCached(cancelled, "devices"); err == nil {
			t.Fatal("a reread with a cancelled context succeeded")
		}
		if sv := rd.served["devices"]; sv.refreshing {
			t.Fatalf("a failed reread left the version marked as being read: %+v", sv)
		}
	})
}
