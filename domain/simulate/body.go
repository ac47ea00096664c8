package simulate

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
)

// field is one top-level member of a body: its key and its value already
// encoded as compact JSON text, so every rendering keeps numbers exactly
// as first written (the canonical form, hence the event id, depends on it).
type field struct{ key, val string }

// style is how a body is laid out; a re-serialised retry uses another one.
type style uint8

const (
	styleCompact style = iota // {"a":1,"b":"x"}
	styleSpaced               // {"a": 1, "b": "x"}
	stylePretty               // one member a line, tab-indented, like the platform's example
	nStyles
)

// render lays the fields out in order.
func render(fs []field, st style) []byte {
	n := 2
	for _, f := range fs {
		n += len(f.key) + len(f.val) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
			if st == styleSpaced {
				b = append(b, ' ')
			}
		}
		if st == stylePretty {
			b = append(b, "\n\t"...)
		}
		b = strconv.AppendQuote(b, f.key) // keys are ASCII identifiers
		b = append(b, ':')
		if st != styleCompact {
			b = append(b, ' ')
		}
		b = append(b, f.val...)
	}
	if st == stylePretty {
		b = append(b, '\n')
	}
	return append(b, '}')
}

// reserialize renders the same members in a shuffled order and another style.
func reserialize(r *rand.Rand, fs []field, was style) []byte {
	cp := append([]field(nil), fs...)
	r.Shuffle(len(cp), func(i, j int) { cp[i], cp[j] = cp[j], cp[i] })
	st := style((int(was) + 1 + r.IntN(int(nStyles)-1)) % int(nStyles))
	return render(cp, st)
}

// Value encoders.

func jstr(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always marshals
			return string(b)
		}
	}
	return `"` + s + `"`
}

func jint(n int64) string { return strconv.FormatInt(n, 10) }

// jnum renders an integer as a number, or as a numeric string when asString.
func jnum(n int64, asString bool) string {
	if asString {
		return `"` + jint(n) + `"`
	}
	return jint(n)
}

func jints(ns []int64) string {
	b := []byte{'['}
	for i, n := range ns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, n, 10)
	}
	return string(append(b, ']'))
}

func jstrs(ss []string) string {
	b := []byte{'['}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jstr(s)...)
	}
	return string(append(b, ']'))
}
