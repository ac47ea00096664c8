package domain

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// metadataJSON is Metadata without its UnmarshalJSON: the standard decoding.
type metadataJSON Metadata

// UnmarshalJSON decodes stored metadata. Every event read from a store
// carries it, so reading the log (rebuilds, catch-up) pays for it once per
// event: the common shape (a flat object of the known keys, plain strings,
// a plain integer) is read directly, and anything else (escapes, other or
// differently cased keys, nulls) goes to encoding/json, so the result is
// always what encoding/json gives (FuzzMetadataUnmarshal checks that).
// Stores call it directly: through json.Unmarshal the input is first
// validated by a full scan, which costs more than the fast path itself.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	fast := *m
	if fast.decode(b) {
		*m = fast
		return nil
	}
	return json.Unmarshal(b, (*metadataJSON)(m))
}

// LeanMetadata is the metadata of a lean event (domain.LogScanner): the
// source and the receivedAt text as a store extracted them from the stored
// JSON (nil or empty when absent).
func LeanMetadata(source, receivedAt []byte) (Metadata, error) {
	m := Metadata{Source: internSource(source)}
	if len(receivedAt) > 0 {
		at, err := time.Parse(time.RFC3339Nano, string(receivedAt))
		if err != nil {
			return m, fmt.Errorf("metadata receivedAt: %w", err)
		}
		m.ReceivedAt = at
	}
	return m, nil
}

// decode is the fast path; false means "not the common shape".
func (m *Metadata) decode(d []byte) bool {
	i := skipJSONSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return false
	}
	i = skipJSONSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return skipJSONSpace(d, i+1) == len(d)
	}
	for {
		key, next, ok := plainString(d, i)
		if !ok {
			return false
		}
		i = skipJSONSpace(d, next)
		if i >= len(d) || d[i] != ':' {
			return false
		}
		i = skipJSONSpace(d, i+1)
		if i >= len(d) {
			return false
		}
		if string(key) == "readmitted" {
			j := i
			for j < len(d) && d[j] >= '0' && d[j] <= '9' {
				j++
			}
			if j == i || j-i > 18 || (d[i] == '0' && j-i > 1) {
				return false
			}
			n, err := strconv.ParseInt(string(d[i:j]), 10, 64)
			if err != nil {
				return false
			}
			m.Readmitted, i = n, j
		} else {
			val, next, ok := plainString(d, i)
			if !ok {
				return false
			}
			switch string(key) {
			case "source":
				m.Source = internSource(val)
			case "receivedAt":
				if m.ReceivedAt.UnmarshalJSON(d[i:next]) != nil {
					return false // encoding/json reports the error
				}
			case "remoteAddr":
				m.RemoteAddr = string(val)
			case "contentType":
				m.ContentType = string(val)
			case "signature":
				m.Signature = internSignature(val)
			default:
				return false
			}
			i = next
		}
		i = skipJSONSpace(d, i)
		if i >= len(d) {
			return false
		}
		switch d[i] {
		case ',':
			i = skipJSONSpace(d, i+1)
		case '}':
			return skipJSONSpace(d, i+1) == len(d)
		default:
			return false
		}
	}
}

// plainString reads the string starting at d[i] when it has no escapes,
// no control bytes and valid UTF-8 (what encoding/json would keep as is).
func plainString(d []byte, i int) ([]byte, int, bool) {
	if i >= len(d) || d[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(d); j++ {
		c := d[j]
		switch {
		case c == '"':
			s := d[i+1 : j]
			if !ascii && !utf8.Valid(s) {
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

func skipJSONSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// The few values of these fields share one string each instead of one per event.
func internSource(s []byte) string {
	switch string(s) {
	case "carwash":
		return "carwash"
	case "energy":
		return "energy"
	}
	return string(s)
}

func internSignature(s []byte) string {
	switch string(s) {
	case SignatureValid:
		return SignatureValid
	case SignatureUnverified:
		return SignatureUnverified
	case SignatureNone:
		return SignatureNone
	}
	return string(s)
}
