package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tidemark/tidemark/domain"
	"github.com/tidemark/tidemark/domain/billing"
)

// cmdReconcile compares a platform statement CSV with the ledger of the
// event log and prints the comparison (domain.md §2) on standard output.
//
// Malformed statement rows are listed on standard error by line number
// (and in the comparison's rowErrors) while the rest is compared. The exit
// status is 0 whenever the comparison could be made, whatever it found:
// non-zero means bad flags, an unreadable file or database, a file with no
// header row (nothing in it can be compared), or a log that cannot be
// reconciled (an unreadable event, a sum beyond int64).
func cmdReconcile(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("reconcile", "reconcile --statement FILE.csv [--from T] [--to T] [--format csv|json] [--database-url URL]", e)
	dbURL := fs.String("database-url", envOr(e.getenv, "TIDEMARK_DATABASE_URL", "sqlite://./var/tidemark.db"), "database (env TIDEMARK_DATABASE_URL)")
	file := fs.String("statement", "", "the platform statement: CSV with a header orderId,hash,amountSun[,time] (required; - reads standard input)")
	fromFlag := fs.String("from", "", "RFC 3339 receive time, inclusive (default: the beginning)")
	toFlag := fs.String("to", "", "RFC 3339 receive time, exclusive (default: now)")
	format := fs.String("format", "json", "json or csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs, suggestFlag(fs, "statement")); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("--statement FILE.csv is required")
	}
	if *format != "json" && *format != "csv" {
		return fmt.Errorf("--format must be json or csv, not %q", *format)
	}
	from, err := parseOptionalTime("--from", *fromFlag)
	if err != nil {
		return err
	}
	to, err := parseOptionalTime("--to", *toFlag)
	if err != nil {
		return err
	}
	if from != nil && to != nil && !from.Before(*to) {
		return errors.New("--from must be before --to")
	}

	raw, err := readBody(*file, e.stdin) // the whole file first: an I/O error is an error, not a row error
	if err != nil {
		return err
	}
	st, rowErrs := billing.ParseStatement(bytes.NewReader(raw))
	name := *file
	if name == "-" {
		name = "standard input"
	}
	for _, re := range rowErrs {
		fmt.Fprintf(e.stderr, "%s: %s\n", name, re.Error())
	}
	if !st.Readable() {
		return fmt.Errorf("%s: no header row orderId,hash,amountSun[,time], and the first row is not data in that order: nothing to compare", name)
	}

	if err := sqliteFileExists(*dbURL); err != nil {
		return err
	}
	store, err := openStorageFor(ctx, *dbURL, e.getenv("TIDEMARK_EVENTSTORE_URL"), time.Second, domain.SystemClock{})
	if err != nil {
		return err
	}
	defer store.Close()
	ledger := billing.NewLedger(from, to)
	if err := scanEventLog(ctx, store.Events, ledger.Add); err != nil {
		return err
	}
	cmp, err := billing.Compare(st, ledger.Entries(), from, to)
	if err != nil {
		return err
	}

	t := cmp.Totals
	n := t.Discrepancies
	fmt.Fprintf(e.stderr, "%d statement rows (%s TRX) against %d ledger entries (%s TRX): %d matched, %d %s, %d %s, %d %s; %d malformed rows, %d rows outside the window\n",
		t.StatementRows, t.StatementTrx, t.LedgerEntries, t.LedgerTrx, t.Matched,
		n[billing.MissingCallback], billing.MissingCallback, n[billing.NotOnStatement], billing.NotOnStatement,
		n[billing.AmountMismatch], billing.AmountMismatch, t.RowErrors, t.RowsOutsideWindow)
	if *format == "csv" {
		return cmp.WriteCSV(e.stdout)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cmp); err != nil {
		return fmt.Errorf("write the comparison: %w", err)
	}
	return nil
}

// parseOptionalTime reads an RFC 3339 flag value; empty means unset.
func parseOptionalTime(flagName, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an RFC 3339 time (e.g. 2026-11-01T00:00:00Z)", flagName, v)
	}
	return &t, nil
}

// sqliteFileExists refuses a SQLite URL naming no existing file: opening it
// would create an empty database and report every statement row missing.
func sqliteFileExists(url string) error {
	if isPostgresURL(url) {
		return nil
	}
	path := sqlitePath(url)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	}
	return nil
}

// scanEventLog feeds every event of the log up to its head at the start of the
// scan to apply, in commit order.
func scanEventLog(ctx context.Context, st domain.EventStore, apply func(domain.Event) error) error {
	head, err := st.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the log: %w", err)
	}
	after := domain.Start
	for after.Less(head) {
		batch, err := st.ReadAll(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("read the log after %s: %w", after, err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, e := range batch {
			if head.Less(e.Position) {
				return nil
			}
			if err := apply(e); err != nil {
				return err
			}
			after = e.Position
		}
	}
	return nil
}
