package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/adapters/postgres"
	"github.com/tidemark/tidemark/adapters/sqlite"
	"github.com/tidemark/tidemark/adapters/testdb"
	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
	"github.com/tidemark/tidemark/domain/billing/billingtest"
	"github.com/tidemark/tidemark/domain/energy"
)

// storeMonth appends every delivery of m as the ingest path would (real
// decoder, receive time in the metadata, retries included: the store keeps
// each event once) and waits until the whole log is readable.
func storeMonth(t *testing.T, st domain.EventStore, m *billingtest.Month) {
	t.Helper()
	ctx := context.Background()
	var reqs []domain.AppendRequest
	distinct := map[string]bool{}
	for _, d := range m.Deliveries {
		acc, verdict, err := energy.Decoder{}.Decode(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		distinct[acc.ID] = true
		reqs = append(reqs, domain.AppendRequest{Stream: acc.Stream, Expected: domain.AnyVersion,
			Events: []domain.NewEvent{{ID: acc.ID, Type: acc.Type, Data: acc.Data, Raw: d.Body,
				Metadata: domain.Metadata{Source: acc.Source, ReceivedAt: d.At, Signature: verdict}}}})
	}
	for len(reqs) > 0 {
		n := min(len(reqs), 200)
		_, errs, err := st.AppendBatch(ctx, reqs[:n])
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		reqs = reqs[n:]
	}
	// On PostgreSQL an event is readable once every older transaction of the server ended.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		count := 0
		if err := scanEventLog(ctx, st, func(domain.Event) error { count++; return nil }); err != nil {
			t.Fatal(err)
		}
		if count == len(distinct) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events readable", count, len(distinct))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reconcileRun runs the command and returns its output.
func reconcileRun(t *testing.T, stdin string, getenv func(string) string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	err = cmdReconcile(context.Background(), args, env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: getenv})
	return out.String(), errOut.String(), err
}

// `tidemark reconcile` on a generated month, on both stores: exactly the
// planted discrepancies, totals on both sides, and every malformed row on
// standard error by line number.
func TestReconcileCommand(t *testing.T) {
	m, err := billingtest.Generate(billingtest.Options{Seed: 11, Orders: 400})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	statement := filepath.Join(dir, "statement.csv")
	if err := os.WriteFile(statement, m.Statement, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, store := range []struct {
		name string
		open func(t *testing.T) (string, domain.EventStore)
	}{
		{"sqlite", func(t *testing.T) (string, domain.EventStore) {
			path := testdb.SQLitePath(t)
			st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return "sqlite://" + path, st
		}},
		{"postgres", func(t *testing.T) (string, domain.EventStore) {
			url := testdb.PostgresURL(t)
			st, err := postgres.Open(context.Background(), url, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return url, st
		}},
	} {
		t.Run(store.name, func(t *testing.T) {
			url, st := store.open(t)
			storeMonth(t, st, m)
			st.Close()

			stdout, stderr, err := reconcileRun(t, "", nil, "--database-url", url, "--statement", statement)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var got billing.Comparison
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not the comparison JSON: %v\n%.300s", err, stdout)
			}
			if d := billingtest.DiffComparison(got, m.Comparison); len(d) > 0 {
				t.Fatalf("comparison differs from what was planted:\n%s", strings.Join(d, "\n"))
			}
			for _, re := range m.Comparison.RowErrors {
				if !strings.Contains(stderr, "statement.csv: line "+strconv.Itoa(re.Line)+": ") {
					t.Errorf("stderr does not report line %d:\n%s", re.Line, stderr)
				}
			}
			if !strings.Contains(stderr, strconv.FormatInt(m.Comparison.Totals.Matched, 10)+" matched") {
				t.Errorf("stderr has no summary:\n%s", stderr)
			}

			// CSV, the statement on standard input, the database from the environment.
			getenv := func(k string) string {
				if k == "TIDEMARK_DATABASE_URL" {
					return url
				}
				return ""
			}
			stdout, _, err = reconcileRun(t, string(m.Statement), getenv, "--statement", "-", "--format", "csv")
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			last := rows[len(rows)-1]
			if len(rows) != len(got.Items)+len(got.RowErrors)+2 || last[0] != "TOTAL" ||
				last[4] != strconv.FormatInt(got.Totals.StatementSun, 10) || last[7] != strconv.FormatInt(got.Totals.LedgerSun, 10) {
				t.Fatalf("CSV: %d rows, last %q", len(rows), last)
			}

			// A window after the month: no ledger entries, dated rows outside.
			stdout, _, err = reconcileRun(t, "", nil, "--database-url", url, "--statement", statement,
				"--from", m.End.Format(time.RFC3339))
			if err != nil {
				t.Fatal(err)
			}
			var late billing.Comparison
			if err := json.Unmarshal([]byte(stdout), &late); err != nil || late.Totals.LedgerEntries != 0 ||
				late.Totals.RowsOutsideWindow == 0 || late.From == nil || !late.From.Equal(m.End) {
				t.Fatalf("window after the month: %v %+v", err, late.Totals)
			}
		})
	}
}

func TestReconcileCommandErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tidemark.db")
	st, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	good := filepath.Join(dir, "good.csv")
	noHeader := filepath.Join(dir, "noheader.csv")
	for path, body := range map[string]string{good: "orderId,hash,amountSun\nE1,,5\nE1,,1.5\n", noHeader: "E1,,five\n"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dbFlag := []string{"--database-url", "sqlite://" + db}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no statement", dbFlag, "--statement FILE.csv is required"},
		{"missing file", append([]string{"--statement", filepath.Join(dir, "none.csv")}, dbFlag...), "none.csv"},
		{"no header", append([]string{"--statement", noHeader}, dbFlag...), "no header row"},
		{"bad format", append([]string{"--statement", good, "--format", "xml"}, dbFlag...), "--format"},
		{"bad from", append([]string{"--statement", good, "--from", "monday"}, dbFlag...), "--from"},
		{"from after to", append([]string{"--statement", good, "--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z"}, dbFlag...), "before"},
		{"no such database", []string{"--statement", good, "--database-url", "sqlite://" + filepath.Join(dir, "typo.db")}, "no database"},
		{"stray argument", append([]string{"--statement", good, "extra"}, dbFlag...), "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := reconcileRun(t, "", nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q\n%s", err, tc.want, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); !os.IsNotExist(err) {
		t.Fatalf("a mistyped database path was created: %v", err)
	}
	// Malformed rows are reported, and the comparison is still made: exit 0.
	stdout, stderr, err := reconcileRun(t, "", nil, append([]string{"--statement", good}, dbFlag...)...)
	if err != nil {
		t.Fatal(err)
	}
	var c billing.Comparison
	if err := json.Unmarshal([]byte(stdout), &c); err != nil || len(c.RowErrors) != 1 || c.RowErrors[0].Line != 3 ||
		len(c.Items) != 1 || c.Items[0].Type != billing.MissingCallback {
		t.Fatalf("%v %+v", err, c)
	}
	if !strings.Contains(stderr, "good.csv: line 3: amountSun: ") {
		t.Fatalf("stderr:\n%s", stderr)
	}
}
