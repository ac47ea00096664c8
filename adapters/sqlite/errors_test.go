package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// interpretError on real SQLite failures.
func TestInterpretError(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "e.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	insert := func(id, stream string, version int64, typ any) error {
		_, err := s.writer.ExecContext(ctx, `INSERT INTO events (id, stream, stream_version, type, data, metadata, recorded_at)
			VALUES (?, ?, ?, ?, '{}', '{}', 0)`, id, stream, version, typ)
		return err
	}
	if err := insert("a", "s", 1, "t"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what string
		err  error
		want error
	}{
		{"same stream version", insert("b", "s", 1, "t"), domain.ErrWrongExpectedVersion},
		{"same id", insert("a", "s", 2, "t"), domain.ErrWrongExpectedVersion},
		{"NULL type", insert("c", "s", 3, nil), domain.ErrInvalidEvent},
		{"version 0 (CHECK)", insert("d", "s", 0, "t"), domain.ErrInvalidEvent},
		{"write on the query_only pool", func() error { _, err := s.reader.ExecContext(ctx, `DELETE FROM events`); return err }(), domain.ErrUnavailable},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Fatalf("%s: no error from SQLite", c.what)
		}
		if got := interpretError(c.err); !errors.Is(got, c.want) {
			t.Errorf("%s: interpretError(%v) = %v, want %v", c.what, c.err, got, c.want)
		}
	}
	if interpretError(nil) != nil {
		t.Error("interpretError(nil) != nil")
	}
	wrapped := fmt.Errorf("x: %w", context.Canceled)
	if got := interpretError(wrapped); got != wrapped {
		t.Errorf("context error rewritten: %v", got)
	}
	other := errors.New("something else")
	if got := interpretError(other); got != other {
		t.Errorf("unknown error rewritten: %v", got)
	}
}
