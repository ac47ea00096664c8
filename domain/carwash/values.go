package carwash

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/tidemark/tidemark/domain"
)

// Readers of one raw JSON value (already valid) of a field whose kind is
// fixed. Numbers may arrive as numeric strings. null counts as absent and is
// filtered out by the caller.

func isNull(v []byte) bool { return v == nil || string(v) == "null" }

// kindError is the rejection of a value of the wrong JSON kind.
func kindError(name, rule, want string, v []byte) *domain.ValidationError {
	return &domain.ValidationError{
		Field:   name,
		Rule:    rule,
		Message: fmt.Sprintf("%s must be %s (got %s)", name, want, describe(v)),
	}
}

// describe names a raw JSON value for a message, truncating long text.
func describe(v []byte) string {
	const maxLen = 40
	kind := "number"
	switch {
	case len(v) == 0:
		return "nothing"
	case v[0] == '"':
		kind = "string"
	case v[0] == '{':
		return "object"
	case v[0] == '[':
		return "array"
	case v[0] == 't' || v[0] == 'f':
		kind = "boolean"
	case v[0] == 'n':
		return "null"
	}
	text := []rune(string(v))
	if len(text) > maxLen {
		return kind + " " + string(text[:maxLen]) + "…"
	}
	return kind + " " + string(text)
}

// unquote returns the text of the JSON string v, or ok=false if v is not a string.
func unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// parseInt64 reads -?digits into an int64 without allocating.
func parseInt64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// intValue reads an integer sent as a JSON number or a numeric string.
func intValue(name string, v []byte) (int64, *domain.ValidationError) {
	b := v
	if len(v) >= 2 && v[0] == '"' {
		b = v[1 : len(v)-1]
	}
	if n, ok := parseInt64(b); ok {
		return n, nil
	}
	return 0, kindError(name, "integer", "an integer", v)
}

// floatValue reads a finite number sent as a JSON number or a numeric string.
func floatValue(name string, v []byte) (float64, *domain.ValidationError) {
	b := v
	if len(v) >= 2 && v[0] == '"' {
		b = v[1 : len(v)-1]
	}
	// The grammar check keeps out what ParseFloat would also take: NaN, Inf, hex, '+'.
	if isNumber(b) {
		if f, err := strconv.ParseFloat(string(b), 64); err == nil && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, kindError(name, "number", "a finite number", v)
}

// isNumber reports whether b follows the JSON number grammar.
func isNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == start || (b[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(b)
}

// stringValue reads a JSON string.
func stringValue(name string, v []byte) (string, *domain.ValidationError) {
	if s, ok := unquote(v); ok {
		return s, nil
	}
	return "", kindError(name, "string", "a string", v)
}

// intListValue reads an array of integers.
func intListValue(name string, v []byte) ([]int64, *domain.ValidationError) {
	if v[0] != '[' {
		return nil, kindError(name, "array", "an array of integers", v)
	}
	out := make([]int64, 0, 4)
	var bad *domain.ValidationError
	_ = eachElement(v, func(i int, e []byte) error {
		if isNull(e) { // names no device: skipped like a non-positive id
			return nil
		}
		b := e
		if len(e) >= 2 && e[0] == '"' {
			b = e[1 : len(e)-1]
		}
		n, ok := parseInt64(b)
		if !ok {
			bad = kindError(elemName(name, i), "integer", "an integer", e)
			return bad
		}
		out = append(out, n)
		return nil
	})
	return out, bad
}

// stringListValue reads an array of strings.
func stringListValue(name string, v []byte) ([]string, *domain.ValidationError) {
	if v[0] != '[' {
		return nil, kindError(name, "array", "an array of strings", v)
	}
	out := make([]string, 0, 4)
	var bad *domain.ValidationError
	_ = eachElement(v, func(i int, e []byte) error {
		if isNull(e) { // names no order: skipped
			return nil
		}
		s, ok := unquote(e)
		if !ok {
			bad = kindError(elemName(name, i), "string", "a string", e)
			return bad
		}
		if len(s) > domain.MaxIDLen { // an order id: a key of the device's order rows
			bad = &domain.ValidationError{Field: elemName(name, i), Rule: "max",
				Message: fmt.Sprintf("%s must be at most %d bytes long (got %d)", elemName(name, i), domain.MaxIDLen, len(s))}
			return bad
		}
		out = append(out, s)
		return nil
	})
	return out, bad
}

func elemName(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
