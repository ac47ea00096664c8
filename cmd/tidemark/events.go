package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// exportedEvent is one line of `tidemark events export` (JSON Lines).
type exportedEvent struct {
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	StreamVersion int64           `json:"streamVersion"`
	Type          string          `json:"type"`
	Position      string          `json:"position,omitempty"`
	RecordedAt    time.Time       `json:"recordedAt"`
	Metadata      domain.Metadata `json:"metadata"`
	Data          json.RawMessage `json:"data"`
	Raw           []byte          `json:"raw"` // base64: the body byte-exact
}

// cmdEvents exports the log as JSON Lines or imports such a file in bulk
// (COPY on PostgreSQL); ids already stored are skipped, so an import can be
// re-run after an interruption.
func cmdEvents(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return errors.New("usage: tidemark events export|import [--database-url URL] [--file F.jsonl]")
	}
	fs := flag.NewFlagSet("events "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dbURL := fs.String("database-url", envOr(e.getenv, "TIDEMARK_DATABASE_URL", "sqlite://./var/tidemark.db"), "database (env TIDEMARK_DATABASE_URL)")
	file := fs.String("file", "-", "JSON Lines file (default: standard output / input)")
	batch := fs.Int("batch", 10000, "events per import transaction")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStorageFor(ctx, *dbURL, e.getenv("TIDEMARK_EVENTSTORE_URL"), time.Second, domain.SystemClock{})
	if err != nil {
		return err
	}
	defer st.Close() //nolint:errcheck // the outcome is what was exported or imported
	if args[0] == "export" {
		if *file == "-" {
			n, err := exportEvents(ctx, st.Events, e.stdout)
			fmt.Fprintf(e.stderr, "exported %d events\n", n)
			return err
		}
		f, err := os.Create(*file)
		if err != nil {
			return fmt.Errorf("create %s: %w", *file, err)
		}
		n, err := exportEvents(ctx, st.Events, f)
		if err == nil {
			err = f.Sync() // an export is a backup: on disk before we say it is done
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", *file, cerr)
		}
		fmt.Fprintf(e.stderr, "exported %d events\n", n)
		return err
	}
	r := e.stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("open %s: %w", *file, err)
		}
		defer f.Close() //nolint:errcheck // read only
		r = f
	}
	start := time.Now()
	read, written, err := importEvents(ctx, st.Events, r, *batch)
	secs := time.Since(start).Seconds()
	fmt.Fprintf(e.stderr, "imported %d of %d events in %.1fs (%.0f events/s)\n", written, read, secs, float64(read)/max(secs, 1e-9))
	return err
}

func exportEvents(ctx context.Context, st domain.EventStore, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	var n int64
	pos := domain.Start
	for {
		batch, err := st.ReadAll(ctx, pos, 5000)
		if err != nil {
			return n, err
		}
		for _, ev := range batch {
			if err := enc.Encode(exportedEvent{ID: ev.ID, Stream: ev.Stream, StreamVersion: ev.StreamVersion, Type: ev.Type,
				Position: ev.Position.String(), RecordedAt: ev.RecordedAt, Metadata: ev.Metadata, Data: ev.Data, Raw: ev.Raw}); err != nil {
				return n, fmt.Errorf("write: %w", err)
			}
			n++
		}
		if len(batch) < 5000 {
			return n, bw.Flush()
		}
		pos = batch[len(batch)-1].Position
	}
}

func importEvents(ctx context.Context, st domain.EventStore, r io.Reader, batchSize int) (read, written int64, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	batch := make([]domain.ImportEvent, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := st.Import(ctx, batch)
		written += n
		batch = batch[:0]
		return err
	}
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev exportedEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return read, written, fmt.Errorf("line %d: %w", line, err)
		}
		batch = append(batch, domain.ImportEvent{Stream: ev.Stream, StreamVersion: ev.StreamVersion, RecordedAt: ev.RecordedAt,
			NewEvent: domain.NewEvent{ID: ev.ID, Type: ev.Type, Data: ev.Data, Raw: ev.Raw, Metadata: ev.Metadata}})
		read++
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return read, written, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return read, written, fmt.Errorf("read line %d: %w", line+1, err)
	}
	return read, written, flush()
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
