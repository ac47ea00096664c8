package projections

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/carwash"
	"github.com/tidemark/tidemark/domain/energy"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	if os.Getenv(lockChildEnv) != "" {
		os.Exit(lockChild())
	}
	testdb.Main(m)
}

// env is one real database: the event store and the read-model handles.
type env struct {
	dialect string
	url     string // PostgreSQL URL or SQLite path
	store   domain.EventStore
	db      *bun.DB // writes
	readDB  *bun.DB // queries
	close   func() error
	// interpret is the adapter's error mapping, as serve gives the Reader.
	interpret func(error) error
}

func openEnv(t testing.TB, dialect, url string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dialect: dialect, url: url}
	switch dialect {
	case "postgres":
		st, err := postgres.Open(ctx, url, postgres.Options{PollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		e.store, e.db, e.readDB, e.close, e.interpret = st, st.DB(), st.DB(), st.Close, postgres.InterpretError
	default:
		st, err := sqlite.Open(ctx, url, sqlite.Options{PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		e.store, e.db, e.readDB, e.close, e.interpret = st, st.DB(), st.ReaderDB(), st.Close, sqlite.InterpretError
	}
	return e
}

func newEnv(t testing.TB, dialect string) *env {
	t.Helper()
	if dialect == "postgres" {
		return openEnv(t, dialect, testdb.PostgresURL(t))
	}
	return openEnv(t, dialect, testdb.SQLitePath(t))
}

// eachDialect runs f on a fresh SQLite file and a fresh PostgreSQL database.
func eachDialect(t *testing.T, f func(t *testing.T, e *env)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { f(t, newEnv(t, d)) })
	}
}

func (e *env) config(mod ...func(*Config)) Config {
	c := Config{Store: e.store, DB: e.db, FlushInterval: time.Millisecond, LockRetry: 200 * time.Millisecond,
		DropGrace: 100 * time.Millisecond, Interpret: e.interpret}
	for _, m := range mod {
		m(&c)
	}
	return c
}

func (e *env) runner(t testing.TB, mod ...func(*Config)) *Runner {
	t.Helper()
	r, err := New(e.config(mod...))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) reader(t testing.TB) *Reader {
	t.Helper()
	rd, err := NewReader(e.readDB, ReaderOptions{Interpret: e.interpret})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// start runs r until the test ends (or stop is called).
func start(t testing.TB, r *Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitCaughtUp waits until every projection of the runners is live at the
// store's head, applied by one of them.
func waitCaughtUp(t testing.TB, e *env, rs ...*Runner) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		head, err := e.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]bool{}
		names := map[string]bool{}
		for _, r := range rs {
			for _, s := range r.Status() {
				names[s.Name] = true
				if s.Leader && s.State == StateLive && s.Position == head {
					done[s.Name] = true
				}
			}
		}
		if len(done) == len(names) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, r := range rs {
		for _, s := range r.Status() {
			b, _ := json.Marshal(s)
			t.Logf("status: %s", b)
		}
	}
	t.Fatal("projections did not catch up in time")
}

// dump is every read model as the Reader serves it.
type dump struct {
	Devices []carwash.Device
	Orders  []energy.Order
	Ledger  map[string][]energy.LedgerEntry
}

func readAll(t testing.TB, rd *Reader) dump {
	t.Helper()
	ctx := ctxFor(t, time.Minute)
	var d dump
	cursor := ""
	for {
		page, next, err := rd.Devices(ctx, DeviceFilter{}, cursor, 37)
		if err != nil {
			t.Fatalf("devices: %v", err)
		}
		d.Devices = append(d.Devices, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	cursor = ""
	d.Ledger = map[string][]energy.LedgerEntry{}
	for {
		page, next, err := rd.Orders(ctx, OrderFilter{}, cursor, 29)
		if err != nil {
			t.Fatalf("orders: %v", err)
		}
		for _, o := range page {
			le, err := rd.Ledger(ctx, o.OrderID)
			if err != nil {
				t.Fatalf("ledger: %v", err)
			}
			d.Ledger[o.OrderID] = le
		}
		d.Orders = append(d.Orders, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	return d
}

// withoutPositions drops what depends on where events landed in the log
// (ledger positions and record times), for comparing stores filled in
// different orders. Entries are sorted by event id.
func (d dump) withoutPositions() dump {
	out := dump{Devices: d.Devices, Orders: d.Orders, Ledger: map[string][]energy.LedgerEntry{}}
	for k, es := range d.Ledger {
		cp := slices.Clone(es)
		for i := range cp {
			cp[i].Position, cp[i].RecordedAt = domain.Position{}, time.Time{}
		}
		slices.SortFunc(cp, func(a, b energy.LedgerEntry) int { return strings.Compare(a.EventID, b.EventID) })
		out.Ledger[k] = cp
	}
	return out
}

func (d dump) counts() (devices, orders, ledger int) {
	for _, es := range d.Ledger {
		ledger += len(es)
	}
	return len(d.Devices), len(d.Orders), ledger
}

func sameDump(t testing.TB, what string, got, want dump) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	gd, go_, gl := got.counts()
	wd, wo, wl := want.counts()
	t.Errorf("%s: read models differ (devices %d/%d, orders %d/%d, ledger %d/%d)", what, gd, wd, go_, wo, gl, wl)
	for i := range min(len(got.Devices), len(want.Devices)) {
		if !reflect.DeepEqual(got.Devices[i], want.Devices[i]) {
			a, _ := json.Marshal(got.Devices[i])
			b, _ := json.Marshal(want.Devices[i])
			t.Errorf("first differing device:\n got %s\nwant %s", a, b)
			break
		}
	}
	for i := range min(len(got.Orders), len(want.Orders)) {
		if !reflect.DeepEqual(got.Orders[i], want.Orders[i]) {
			a, _ := json.Marshal(got.Orders[i])
			b, _ := json.Marshal(want.Orders[i])
			t.Errorf("first differing order:\n got %s\nwant %s", a, b)
			break
		}
	}
	for k, es := range want.Ledger {
		if !reflect.DeepEqual(got.Ledger[k], es) {
			t.Errorf("ledger of %s differs:\n got %+v\nwant %+v", k, got.Ledger[k], es)
			break
		}
	}
}

// servedVersion reads projection_versions directly.
func servedVersion(t testing.TB, e *env, name string) versions {
	t.Helper()
	f, _ := flavorOf(e.db)
	v, ok, err := loadVersions(context.Background(), sqlq{f, e.db.DB}, name, "")
	if err != nil || !ok {
		t.Fatalf("versions of %s: ok=%v err=%v", name, ok, err)
	}
	return v
}

// projectionOf is the runner's projection of that name.
func projectionOf(t testing.TB, r *Runner, name string) Projection {
	t.Helper()
	for _, p := range r.cfg.Projections {
		if p.Name() == name {
			return p
		}
	}
	t.Fatalf("no projection %s", name)
	return nil
}

func codeVersionOf(t testing.TB, r *Runner, name string) int {
	return projectionOf(t, r, name).Version()
}

// tablesOf is the physical names of a projection's tables with a suffix.
func tablesOf(t testing.TB, r *Runner, name, suffix string) []string {
	var out []string
	for _, tb := range projectionOf(t, r, name).Tables() {
		out = append(out, tb.Name+suffix)
	}
	return out
}

func checkpointOf(t testing.TB, e *env, name string, version int) domain.Position {
	t.Helper()
	f, _ := flavorOf(e.db)
	p, err := readCheckpoint(context.Background(), sqlq{f, e.db.DB}, name, version)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func countRows(t testing.TB, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.db.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+quote(table)).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func tableExists(t testing.TB, e *env, table string) bool {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if e.dialect == "postgres" {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := e.db.DB.QueryRowContext(context.Background(), q, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// waitCount waits until the log has n readable events (after an Import).
func waitCount(t testing.TB, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		all, err := e.store.ReadAll(context.Background(), domain.Start, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d imported events readable", len(all), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// witness is a test projection that counts, per event, how many times a
// committed batch applied it: no replay protection of its own, so any
// double apply by the engine shows as a count of 2.
type witness struct{}

var witnessTable = &Table{Name: "witness", Key: []string{"event_id"}, Columns: []Column{
	{Name: "event_id", Type: Text}, {Name: "n", Type: Int64}, {Name: "state", Type: JSON}}}

func (witness) Name() string        { return "witness" }
func (witness) Version() int        { return 1 }
func (witness) Tables() []*Table    { return []*Table{witnessTable} }
func (witness) Handles(string) bool { return true }
func (witness) NewFold() Fold {
	return &keyed[string, int64, struct{}]{
		table: witnessTable, keyCol: "event_id", stateCol: "state", parseKey: stringKey,
		parse:  func(e domain.Event) (struct{}, []string, error) { return struct{}{}, []string{e.ID}, nil },
		evolve: func(n int64, _ string, _ domain.Event, _ struct{}) (int64, error) { return n + 1, nil },
		row: func(id string, n int64) ([]any, error) {
			return []any{id, n, []byte(strconv.FormatInt(n, 10))}, nil
		},
	}
}

func withWitness(c *Config) { c.Projections = append(Default(), witness{}) }

// checkExactlyOnce asserts the witness applied every event of the log once.
func checkExactlyOnce(t testing.TB, e *env) {
	t.Helper()
	all, err := e.store.ReadAll(context.Background(), domain.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	v := servedVersion(t, e, "witness")
	table := quote(physical("witness", versionSuffix(v.Served)))
	var rows, twice int
	if err := e.db.DB.QueryRowContext(context.Background(), `SELECT count(*), coalesce(sum(CASE WHEN n <> 1 THEN 1 ELSE 0 END), 0) FROM `+table).
		Scan(&rows, &twice); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || twice != 0 {
		t.Errorf("witness: %d events applied (%d of them more than once), %d in the log", rows, twice, len(all))
	}
}
