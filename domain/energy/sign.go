package energy

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tidemark/tidemark/domain"
)

// Scheme is a way of signing an energy callback (domain.md §2).
type Scheme string

// The signature schemes.
const (
	// SchemeMD5KVSorted: md5("k1=v1&k2=v2...&key=" + secret), lowercase hex.
	SchemeMD5KVSorted Scheme = "md5-kv-sorted"
	// SchemeMD5KVSortedRaw: md5("k1=v1&k2=v2..." + secret).
	SchemeMD5KVSortedRaw Scheme = "md5-kv-sorted-raw"
	// SchemeMD5JSON: md5(compact sorted JSON without sign + secret).
	SchemeMD5JSON Scheme = "md5-json"
	// SchemeNone: no signature check.
	SchemeNone Scheme = "none"
)

// DefaultScheme is used when none is configured.
const DefaultScheme = SchemeMD5KVSorted

// signedSchemes are the schemes that compute a signature, in Detect's order.
var signedSchemes = []Scheme{SchemeMD5KVSorted, SchemeMD5KVSortedRaw, SchemeMD5JSON}

// ErrUnknownScheme: a scheme name that is none of the above.
var ErrUnknownScheme = errors.New("unknown signature scheme")

// signField is the body field that carries the signature.
const signField = "sign"

// ParseScheme reads a configured scheme name; "" means DefaultScheme.
func ParseScheme(s string) (Scheme, error) {
	switch sc := Scheme(s); sc {
	case "":
		return DefaultScheme, nil
	case SchemeMD5KVSorted, SchemeMD5KVSortedRaw, SchemeMD5JSON, SchemeNone:
		return sc, nil
	}
	return "", fmt.Errorf("%q (want md5-kv-sorted, md5-kv-sorted-raw, md5-json or none): %w", s, ErrUnknownScheme)
}

// SignatureError is a missing or wrong signature; it unwraps to
// domain.ErrUnauthorized (answered 401).
type SignatureError struct {
	Field  string // always "sign"
	Reason string // "missing" or "does not match"
}

func (e *SignatureError) Error() string { return e.Field + " " + e.Reason }

// Unwrap makes errors.Is(err, domain.ErrUnauthorized) true.
func (e *SignatureError) Unwrap() error { return domain.ErrUnauthorized }

// Sign computes the signature of a callback body under scheme and secret;
// the body's own sign field is ignored. SchemeNone signs nothing ("").
func Sign(scheme Scheme, body []byte, secret string) (string, error) {
	obj, err := domain.ParseObject(body)
	if err != nil {
		return "", err
	}
	return signObject(scheme, obj, secret)
}

// StringToSign is the text a scheme hashes before the secret is appended:
// for the kv schemes "k1=v1&k2=v2", for md5-json the compact sorted JSON.
// It is what `tidemark sign` shows to help agree on a scheme.
func StringToSign(scheme Scheme, body []byte) (string, error) {
	obj, err := domain.ParseObject(body)
	if err != nil {
		return "", err
	}
	b, err := signedText(scheme, obj)
	return string(b), err
}

// Verify checks the body's sign field. It returns nil, a *SignatureError
// (wrapping domain.ErrUnauthorized), or the body's parse error. The check
// ignores case and runs in constant time.
func Verify(scheme Scheme, body []byte, secret string) error {
	obj, err := domain.ParseObject(body)
	if err != nil {
		return err
	}
	return verifyObject(scheme, obj, secret)
}

// Detect returns every scheme (other than none) under which the body's
// sign matches the secret; nil when none does or the body has no sign.
func Detect(body []byte, secret string) []Scheme {
	obj, err := domain.ParseObject(body)
	if err != nil {
		return nil
	}
	var out []Scheme
	for _, sc := range signedSchemes {
		if verifyObject(sc, obj, secret) == nil {
			out = append(out, sc)
		}
	}
	return out
}

func verifyObject(scheme Scheme, obj map[string]any, secret string) error {
	if scheme == SchemeNone {
		return nil
	}
	var got string
	switch v := obj[signField].(type) {
	case string:
		got = v
	case json.Number: // the platform's table types sign as "Decimal"
		got = string(v)
	}
	if got == "" {
		return &SignatureError{Field: signField, Reason: "missing"}
	}
	want, err := signObject(scheme, obj, secret)
	if err != nil {
		return err
	}
	// Lower-casing depends only on what the caller sent, so it leaks
	// nothing; the comparison with the secret-derived value is constant time.
	g := []byte(got)
	for i, c := range g {
		if c >= 'A' && c <= 'Z' {
			g[i] = c + 'a' - 'A'
		}
	}
	if subtle.ConstantTimeCompare(g, []byte(want)) != 1 {
		return &SignatureError{Field: signField, Reason: "does not match"}
	}
	return nil
}

func signObject(scheme Scheme, obj map[string]any, secret string) (string, error) {
	if scheme == SchemeNone {
		return "", nil
	}
	b, err := signedText(scheme, obj)
	if err != nil {
		return "", err
	}
	if scheme == SchemeMD5KVSorted {
		b = append(b, "&key="...)
	}
	sum := md5.Sum(append(b, secret...))
	return hex.EncodeToString(sum[:]), nil
}

// signedText renders the body without sign as the scheme hashes it.
func signedText(scheme Scheme, obj map[string]any) ([]byte, error) {
	switch scheme {
	case SchemeMD5KVSorted, SchemeMD5KVSortedRaw:
		return kvSorted(obj)
	case SchemeMD5JSON:
		rest := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != signField {
				rest[k] = v
			}
		}
		return domain.Canonical(rest)
	case SchemeNone:
		return nil, nil
	}
	return nil, fmt.Errorf("%q: %w", scheme, ErrUnknownScheme)
}

// kvSorted renders key=value pairs of the non-empty fields except sign,
// sorted by key, joined with &: strings unquoted, numbers as sent, other
// values as compact sorted JSON.
func kvSorted(obj map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(obj))
	for k, v := range obj {
		if k == signField || v == nil || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]byte, 0, 512)
	for i, k := range keys {
		if i > 0 {
			out = append(out, '&')
		}
		out = append(out, k...)
		out = append(out, '=')
		switch v := obj[k].(type) {
		case string:
			out = append(out, v...)
		case json.Number:
			out = append(out, v...)
		default:
			js, err := domain.Canonical(v)
			if err != nil {
				return nil, err
			}
			out = append(out, js...)
		}
	}
	return out, nil
}
