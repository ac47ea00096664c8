// Package canonjson canonicalises a callback body in one pass over its
// bytes, for the ingest path of the car-wash and energy decoders.
//
// Object gives exactly what domain.Canonical(domain.ParseObject(raw))
// gives, without building a map of the body and encoding it again with
// reflection, but only for the common shape of a body: strings without
// escapes, no key twice in one object, shallow nesting. For anything else
// (including every malformed body) it says so and the caller takes the
// general path, which also words the errors. FuzzObject holds it to that.
package canonjson

import (
	"bytes"
	"math"
	"slices"
	"unicode/utf8"
)

// maxDepth bounds the nesting Object handles (encoding/json allows 10,000).
const maxDepth = 32

// Object returns the canonical form of raw (a JSON object, keys sorted by
// bytes, compact, numbers as sent) and true, or nil and false when raw is
// not in the shape this package handles.
func Object(raw []byte) ([]byte, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	out, end, ok := object(raw, i, make([]byte, 0, len(raw)), 0)
	if !ok || skipSpace(raw, end) != len(raw) {
		return nil, false
	}
	return out, true
}

// member is one key and its canonical value, as offsets (no pointers, so
// sorting moves them without write barriers): the key is d[ks:ke], the
// value d[vs:ve], or nest[vs:ve] for an object or array.
type member struct {
	ks, ke, vs, ve int32
	nested         bool
}

// object appends the canonical form of the object at d[i] == '{' to out
// and returns the index after it.
func object(d []byte, i int, out []byte, depth int) ([]byte, int, bool) {
	if depth >= maxDepth || len(d) > math.MaxInt32 {
		return nil, 0, false
	}
	var buf [24]member // most bodies fit: no allocation
	ms := buf[:0]
	var nest []byte
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return append(out, '{', '}'), i + 1, true
	}
	for {
		key, next, ok := plainString(d, i)
		if !ok {
			return nil, 0, false
		}
		m := member{ks: int32(i + 1), ke: int32(i + 1 + len(key))}
		i = skipSpace(d, next)
		if i >= len(d) || d[i] != ':' {
			return nil, 0, false
		}
		i = skipSpace(d, i+1)
		start := i
		var val []byte
		if val, i, ok = value(d, i, depth); !ok {
			return nil, 0, false
		}
		if len(val) > 0 && (val[0] == '{' || val[0] == '[') {
			m.vs, m.nested = int32(len(nest)), true
			nest = append(nest, val...)
			m.ve = int32(len(nest))
		} else {
			m.vs, m.ve = int32(start), int32(i)
		}
		ms = append(ms, m)
		i = skipSpace(d, i)
		if i >= len(d) {
			return nil, 0, false
		}
		if d[i] == '}' {
			i++
			break
		}
		if d[i] != ',' {
			return nil, 0, false
		}
		i = skipSpace(d, i+1)
	}
	sortMembers(d, ms)
	for k := 1; k < len(ms); k++ {
		if bytes.Equal(ms[k-1].key(d), ms[k].key(d)) {
			return nil, 0, false // the last one wins in encoding/json: left to it
		}
	}
	out = append(out, '{')
	for k, m := range ms {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, m.key(d)...)
		out = append(out, '"', ':')
		if m.nested {
			out = append(out, nest[m.vs:m.ve]...)
		} else {
			out = append(out, d[m.vs:m.ve]...)
		}
	}
	return append(out, '}'), i, true
}

func (m member) key(d []byte) []byte { return d[m.ks:m.ke] }

// sortMembers sorts by key bytes, as encoding/json sorts map keys.
func sortMembers(d []byte, ms []member) {
	if len(ms) > 24 {
		slices.SortFunc(ms, func(a, b member) int { return bytes.Compare(a.key(d), b.key(d)) })
		return
	}
	for k := 1; k < len(ms); k++ {
		for j := k; j > 0 && bytes.Compare(ms[j-1].key(d), ms[j].key(d)) > 0; j-- {
			ms[j-1], ms[j] = ms[j], ms[j-1]
		}
	}
}

// value returns the canonical form of the value at d[i] and the index
// after it. A scalar's canonical form is its own text: a slice of d.
func value(d []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(d) {
		return nil, 0, false
	}
	switch c := d[i]; {
	case c == '"':
		if _, next, ok := plainString(d, i); ok {
			return d[i:next], next, true
		}
		return nil, 0, false
	case c == '{':
		return object(d, i, nil, depth+1)
	case c == '[':
		return array(d, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		if next, ok := number(d, i); ok {
			return d[i:next], next, true
		}
		return nil, 0, false
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
			return d[i : i+len(lit)], i + len(lit), true
		}
	}
	return nil, 0, false
}

// array returns the canonical form of the array at d[i] == '['.
func array(d []byte, i, depth int) ([]byte, int, bool) {
	if depth >= maxDepth {
		return nil, 0, false
	}
	out := []byte{'['}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return append(out, ']'), i + 1, true
	}
	for {
		val, next, ok := value(d, i, depth)
		if !ok {
			return nil, 0, false
		}
		out = append(out, val...)
		i = skipSpace(d, next)
		if i >= len(d) {
			return nil, 0, false
		}
		if d[i] == ']' {
			return append(out, ']'), i + 1, true
		}
		if d[i] != ',' {
			return nil, 0, false
		}
		out = append(out, ',')
		i = skipSpace(d, i+1)
	}
}

// plainString reads the string at d[i] == '"' when encoding/json would
// give it back unchanged: no escape, no control byte, valid UTF-8, and
// neither U+2028 nor U+2029 (which it escapes). It returns the content
// and the index after the closing quote.
func plainString(d []byte, i int) ([]byte, int, bool) {
	if i >= len(d) || d[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(d); j++ {
		switch c := d[j]; {
		case c == '"':
			s := d[i+1 : j]
			if !ascii && (!utf8.Valid(s) || bytes.Contains(s, lineSep) || bytes.Contains(s, paraSep)) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

var (
	lineSep = []byte("\u2028")
	paraSep = []byte("\u2029")
)

// number checks the JSON number grammar from d[i] and returns the index
// after the number.
func number(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(d, i)
	default:
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}
