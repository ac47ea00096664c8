package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrMalformed: the body is not well-formed JSON (answered 400).
var ErrMalformed = errors.New("malformed JSON")

// ParseObject decodes a callback body into a JSON object with numbers kept
// as sent (json.Number). It returns ErrMalformed for bytes that are not one
// JSON value, and a *ValidationError when the value is not an object.
func ParseObject(raw []byte) (map[string]any, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("body is not valid UTF-8: %w", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value: %w", ErrMalformed)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &ValidationError{Field: "body", Rule: "object", Message: "body must be a JSON object"}
	}
	return obj, nil
}

// Canonical renders a decoded JSON value compactly with object keys sorted
// by byte order, numbers exactly as sent and no HTML escaping. Two bodies
// that differ only in key order or white space have the same canonical form.
func Canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // encoding/json sorts map keys
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
