package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain/billing/billingtest"
)

// rebuildRun runs the rebuild command and returns its output.
func rebuildRun(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = cmdRebuild(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(string) string { return "" }})
	return out.String(), errOut.String(), err
}

// A point-in-time copy is made, listed and dropped from the command line.
func TestRebuildCommandCopies(t *testing.T) {
	path := testdb.SQLitePath(t)
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := billingtest.Generate(billingtest.Options{Seed: 5, Orders: 20})
	if err != nil {
		t.Fatal(err)
	}
	storeMonth(t, st, m)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db := "sqlite://" + path

	if out, errOut, err := rebuildRun("--database-url", db, "--until", "2026-11-01T00:00:00Z"); err != nil ||
		!strings.Contains(out, "orders: point-in-time copy") {
		t.Fatalf("rebuild --until: %v\n%s%s", err, out, errOut)
	}
	out, _, err := rebuildRun("--database-url", db, "--list-copies")
	want := "devices\t2026-11-01T00:00:00Z\tdevice_orders_asof_20261101T000000,devices_asof_20261101T000000\n" +
		"ledger\t2026-11-01T00:00:00Z\tledger_asof_20261101T000000\n" +
		"orders\t2026-11-01T00:00:00Z\torders_asof_20261101T000000\n"
	if err != nil || out != want {
		t.Fatalf("--list-copies: %v\n got %q\nwant %q", err, out, want)
	}
	if out, _, err := rebuildRun("--database-url", db, "--drop-copy", "2026-11-01T00:00:00Z", "--projection", "orders"); err != nil ||
		out != "dropped orders_asof_20261101T000000\n" {
		t.Fatalf("--drop-copy: %v, %q", err, out)
	}
	if out, _, err := rebuildRun("--database-url", db, "--list-copies"); err != nil || strings.Contains("\n"+out, "\norders\t") ||
		!strings.Contains(out, "devices_asof_20261101T000000") {
		t.Fatalf("--list-copies after the drop: %v, %q", err, out)
	}
	if _, _, err := rebuildRun("--database-url", db, "--drop-copy", "2026-11-01T00:00:00Z", "--projection", "orders"); err == nil ||
		!strings.Contains(err.Error(), "no point-in-time copy") {
		t.Errorf("dropping a copy that is gone: %v", err)
	}
	if _, _, err := rebuildRun("--database-url", db, "--drop-copy", "yesterday"); err == nil || !strings.Contains(err.Error(), "--drop-copy") {
		t.Errorf("--drop-copy yesterday: %v", err)
	}
}
