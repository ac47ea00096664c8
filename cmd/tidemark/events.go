package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

const eventsUsage = "tidemark events export|import [--database-url URL] [--file F.jsonl] [--batch N]"

// cmdEvents exports the log as JSON Lines or imports such a file in bulk
// (COPY on PostgreSQL); ids already stored are skipped, so an import can be
// re-run after an interruption.
func cmdEvents(ctx context.Context, args []string, e env) error {
	sub, err := subcommand(args, e, eventsUsage, "export", "import")
	if err != nil {
		return err
	}
	fs := newFlagSet("events "+sub, "events "+sub+" [flags]", e)
	dbURL := fs.String("database-url", envOr(e.getenv, "TIDEMARK_DATABASE_URL", "sqlite://./var/tidemark.db"), "database (env TIDEMARK_DATABASE_URL)")
	file := fs.String("file", "-", "JSON Lines file (-: standard output / input)")
	batch := fs.Int("batch", 10000, "events per import transaction, at least 1")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs, suggestFlag(fs, "file")); err != nil {
		return err
	}
	if *batch < 1 {
		return fmt.Errorf("--batch %d: want at least 1", *batch)
	}
	st, err := openStorageFor(ctx, *dbURL, e.getenv("TIDEMARK_EVENTSTORE_URL"), time.Second, domain.SystemClock{})
	if err != nil {
		return err
	}
	defer st.Close() //nolint:errcheck // the outcome is what was exported or imported
	if sub == "export" {
		return exportFile(ctx, st.Events, *file, e)
	}
	return importFile(ctx, st.Events, *file, *batch, e)
}

func exportFile(ctx context.Context, st domain.EventStore, file string, e env) error {
	if file == "-" {
		n, err := exportEvents(ctx, st, e.stdout)
		fmt.Fprintf(e.stderr, "exported %d events\n", n)
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("create %s: %w", file, err)
	}
	n, err := exportEvents(ctx, st, f)
	if err == nil {
		err = f.Sync() // an export is a backup: on disk before we say it is done
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", file, cerr)
	}
	fmt.Fprintf(e.stderr, "exported %d events\n", n)
	return err
}

func importFile(ctx context.Context, st domain.EventStore, file string, batch int, e env) error {
	r := e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("open %s: %w", file, err)
		}
		defer f.Close() //nolint:errcheck // read only
		r = f
	}
	start := time.Now()
	read, written, err := importEvents(ctx, st, r, batch)
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

// importEvents reads JSON Lines from r and imports them in batches of
// batchSize. A malformed line is reported as "line N: FIELD: ..."; an error
// of the store names the lines of the batch it refused.
func importEvents(ctx context.Context, st domain.EventStore, r io.Reader, batchSize int) (read, written int64, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	batch := make([]domain.ImportEvent, 0, batchSize)
	line, first := 0, 0 // first: the line of batch[0]
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := st.Import(ctx, batch)
		written += n
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w", first, line, err)
		}
		return nil
	}
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		ev, err := decodeLine(sc.Bytes())
		if err != nil {
			return read, written, fmt.Errorf("line %d: %w", line, err)
		}
		if len(batch) == 0 {
			first = line
		}
		batch = append(batch, ev)
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

// decodeLine reads one line of an export field by field, so an error names
// its field, and checks the fields every store requires.
func decodeLine(b []byte) (domain.ImportEvent, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return domain.ImportEvent{}, fmt.Errorf("not a JSON object: %w", err)
	}
	var ev exportedEvent
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"id", &ev.ID}, {"stream", &ev.Stream}, {"streamVersion", &ev.StreamVersion}, {"type", &ev.Type},
		{"recordedAt", &ev.RecordedAt}, {"metadata", &ev.Metadata}, {"data", &ev.Data}, {"raw", &ev.Raw},
	} {
		if raw, ok := fields[f.name]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return domain.ImportEvent{}, fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	switch {
	case ev.ID == "":
		return domain.ImportEvent{}, errors.New("id: missing or empty")
	case ev.Stream == "":
		return domain.ImportEvent{}, errors.New("stream: missing or empty")
	case ev.StreamVersion < 1:
		return domain.ImportEvent{}, fmt.Errorf("streamVersion: %d, want at least 1", ev.StreamVersion)
	case ev.Type == "":
		return domain.ImportEvent{}, errors.New("type: missing or empty")
	}
	return domain.ImportEvent{Stream: ev.Stream, StreamVersion: ev.StreamVersion, RecordedAt: ev.RecordedAt,
		NewEvent: domain.NewEvent{ID: ev.ID, Type: ev.Type, Data: ev.Data, Raw: ev.Raw, Metadata: ev.Metadata}}, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
