package carwash

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// A small scanner over a top-level JSON object. encoding/json matches struct
// fields case-insensitively, so `"IOTID"` would land in IotID while the
// canonical map keeps it as its own key; routing must read exactly the key
// the map has, and the rebuild path must be fast. Both needs are met by
// finding the raw value of each exactly-named member here.

// scanFields returns the raw JSON value of every member of the object data
// that names a field, indexed by field; absent members are nil. A later
// duplicate key wins, as in encoding/json. It returns an error wrapping
// domain.ErrMalformed for invalid JSON and a *domain.ValidationError when
// the value is not an object.
func scanFields(data []byte) ([nFields][]byte, error) {
	var vals [nFields][]byte
	if !json.Valid(data) {
		return vals, fmt.Errorf("callback data is not valid JSON: %w", domain.ErrMalformed)
	}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return vals, &domain.ValidationError{Field: "body", Rule: "object", Message: "body must be a JSON object"}
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		end := skipString(data, i)
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // ':'
		vend := skipValue(data, i)
		if f, ok := fieldOf(key); ok {
			vals[f] = data[i:vend]
		}
		i = skipSpace(data, vend)
		if i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return vals, nil
}

// fieldOf maps a raw (still escaped) key to its field.
func fieldOf(key []byte) (field, bool) {
	if bytes.IndexByte(key, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s); err != nil {
			return 0, false
		}
		key = []byte(s)
	}
	for f, name := range fieldNames {
		if string(key) == name {
			return field(f), true
		}
	}
	return 0, false
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at d[i].
func skipString(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch d[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(d)
}

// skipValue returns the index just after the value starting at d[i]. The
// input has been checked by json.Valid; bounds are still guarded.
func skipValue(d []byte, i int) int {
	if i >= len(d) {
		return i
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				i = skipString(d, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(d) {
			switch d[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// eachElement calls fn with the raw value of each element of the JSON array
// v (already valid), stopping at the first error.
func eachElement(v []byte, fn func(i int, elem []byte) error) error {
	j := skipSpace(v, 1)
	for n := 0; j < len(v) && v[j] != ']'; n++ {
		end := skipValue(v, j)
		if err := fn(n, v[j:end]); err != nil {
			return err
		}
		j = skipSpace(v, end)
		if j < len(v) && v[j] == ',' {
			j = skipSpace(v, j+1)
		}
	}
	return nil
}
