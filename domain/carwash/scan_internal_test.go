package carwash

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidemark/tidemark/domain"
)

// FuzzScanFields: the scanner accepts exactly what json.Valid accepts, and
// finds the same member values encoding/json finds under exact keys.
func FuzzScanFields(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{``, ` `, `{}`, `{"a":}`, `[1,2`, `{"iotId":1,"iotId":2}`, `"x\u00zz"`, `{"a":[{"b":[]}],"status":-0.5e+3}`, `{"a":1}x`, "{\"a\":\"\x01\"}", `{"iot\u0049d":3}`, `nul`, `{"a" 1}`, `{,}`, `[1,]`, `01`, `-`, `1.`, `1e`, `.5`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := scanFields(data)
		valid := json.Valid(data)
		if errors.Is(err, domain.ErrMalformed) == valid {
			t.Fatalf("json.Valid %v, scanFields %v", valid, err)
		}
		if !valid {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil || obj == nil { // null decodes into a nil map
			if err == nil {
				t.Fatal("not an object, yet no error")
			}
			return
		}
		if err != nil {
			t.Fatalf("object rejected: %v", err)
		}
		for fi, name := range fieldNames {
			want, ok := obj[name]
			got := vals[fi]
			if ok != (got != nil) {
				t.Fatalf("%s: present %v, scanned %q", name, ok, got)
			}
			if ok && !bytes.Equal(compact(t, want), compact(t, got)) {
				t.Fatalf("%s: %s vs %s", name, want, got)
			}
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
