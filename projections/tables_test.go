package projections

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

func TestDDLPerDialect(t *testing.T) {
	pg := devicesTable.createSQL(flavorPostgres, "devices_v2", false)
	if want := `CREATE TABLE "devices_v2" ("iot_id" BIGINT NOT NULL, "machine_type" TEXT COLLATE "C", "online" BOOLEAN,`; !strings.HasPrefix(pg, want) {
		t.Errorf("postgres DDL:\n%s\nwant prefix\n%s", pg, want)
	}
	if strings.Contains(pg, "PRIMARY KEY") {
		t.Error("a bulk-load table on PostgreSQL gets its key after the load")
	}
	if !strings.HasSuffix(pg, ` WITH (toast_tuple_target = 8160, fillfactor = 50)`) {
		t.Errorf("postgres storage parameters: %s", pg)
	}
	if k := devicesTable.keySQL(flavorPostgres, "devices_v2"); len(k) != 1 || k[0] != `ALTER TABLE "devices_v2" ADD PRIMARY KEY ("iot_id")` {
		t.Errorf("key: %v", k)
	}
	lite := devicesTable.createSQL(flavorSQLite, "devices_v2", false)
	if !strings.Contains(lite, `"iot_id" INTEGER NOT NULL`) || !strings.Contains(lite, `"online" INTEGER,`) ||
		!strings.HasSuffix(lite, `PRIMARY KEY ("iot_id"))`) || strings.Contains(lite, "JSONB") || strings.Contains(lite, "fillfactor") {
		t.Errorf("sqlite DDL: %s", lite)
	}
	if lite := deviceOrdersTable.createSQL(flavorSQLite, "device_orders_v2", false); !strings.HasSuffix(lite, `PRIMARY KEY ("iot_id", "kind", "order_id")) WITHOUT ROWID`) {
		t.Errorf("sqlite DDL of a key-ordered table: %s", lite)
	}
	if pg := deviceOrdersTable.createSQL(flavorPostgres, "device_orders_v2", true); strings.Contains(pg, "ROWID") {
		t.Errorf("postgres DDL of a key-ordered table: %s", pg)
	}
	idx, err := ordersTable.indexSQL("orders_asof_20261122T100000")
	if err != nil || len(idx) != 2 || idx[1] != `CREATE INDEX "orders_asof_20261122T100000_receive_address_order_id" ON "orders_asof_20261122T100000" ("receive_address", "order_id")` {
		t.Errorf("indexes: %v %v", idx, err)
	}
	if got := asOfSuffix(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)); got != "asof_20261122T100000" {
		t.Errorf("asOfSuffix = %s", got)
	}
	for _, bad := range []string{"", "a-b", `x"y`, "1abc", strings.Repeat("a", 64)} {
		if checkIdent(bad) == nil {
			t.Errorf("identifier %q accepted", bad)
		}
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c IN (?, ?)`
	if got := flavorPostgres.rebind(q); got != `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)` {
		t.Errorf("postgres: %s", got)
	}
	if got := flavorSQLite.rebind(q); got != q {
		t.Errorf("sqlite: %s", got)
	}
}

func TestStatusJSON(t *testing.T) {
	s := Status{Name: "devices", Version: 2, CodeVersion: 1, State: StateCatchingUp, Leader: true,
		Position: domain.Position{TxID: 7, Seq: 40}, Head: domain.Position{TxID: 9, Seq: 50}, LagEvents: 10, LagSeconds: 1.5}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"devices","version":2,"codeVersion":1,"status":"catching_up","leader":true,"position":"7.40","headPosition":"9.50","lagEvents":10,"lagSeconds":1.5,"lastError":null,"poisonEvents":0,"lastPoison":null,"rebuild":null}`
	if string(b) != want {
		t.Errorf("status JSON:\n%s\nwant\n%s", b, want)
	}
}

func TestConfigValidate(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, c := range []Config{
		{DB: e.db},
		{Store: e.store},
		{Store: e.store, DB: e.db, Poison: "ignore"},
		{Store: e.store, DB: e.db, BatchSize: -1},
		{Store: e.store, DB: e.db, Projections: []Projection{Devices{}, Devices{}}},
	} {
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	if err := (Config{Store: e.store, DB: e.db}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
