package energy

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidemark/tidemark/domain"
)

// t0 is the receive time of the first test callback.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// body renders a callback body for order "E1" plus the given fields.
func body(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	m := map[string]any{"orderId": "E1"}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// event decodes raw like the ingest path and stores it at log position seq,
// received seq minutes after t0.
func event(t testing.TB, raw []byte, seq int64) domain.Event {
	t.Helper()
	acc, _, err := Decoder{}.Decode(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	at := t0.Add(time.Duration(seq) * time.Minute)
	return domain.Event{
		ID: acc.ID, Stream: acc.Stream, Type: acc.Type, Data: acc.Data, Raw: raw,
		Metadata:   domain.Metadata{Source: Source, ReceivedAt: at},
		RecordedAt: at.Add(time.Second),
		Position:   domain.Position{TxID: uint64(seq), Seq: seq},
	}
}

// fold folds events and fails the test on an error.
func fold(t testing.TB, events ...domain.Event) OrderState {
	t.Helper()
	s, err := Fold(events)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storedEvent is event for a body stored before today's value rules (the
// fold must still cope): Data is the canonical body, without Decode.
func storedEvent(t testing.TB, raw []byte, seq int64) domain.Event {
	t.Helper()
	obj, err := domain.ParseObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	data, err := domain.Canonical(obj)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Duration(seq) * time.Minute)
	return domain.Event{
		ID: domain.EventID(Source, data), Stream: StreamOf("E1"), Type: EventType, Data: data, Raw: raw,
		Metadata:   domain.Metadata{Source: Source, ReceivedAt: at},
		RecordedAt: at.Add(time.Second),
		Position:   domain.Position{TxID: uint64(seq), Seq: seq},
	}
}

// readCases reads "input<TAB>want" lines of a testdata file, skipping # comments.
func readCases(t testing.TB, name string) [][2]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		in, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: line without tab: %q", name, line)
		}
		out = append(out, [2]string{in, want})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testdataFiles returns the contents of testdata/<dir>/*.json by base name.
func testdataFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// hashOf is a 64-hex transaction hash derived from s.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func stringReader(s string) io.Reader { return strings.NewReader(s) }
