package simulate

import (
	"net/http"
	"strings"
)

// Bad input kinds (Delivery.Kind is "bad:" + one of these).
const (
	BadTruncated      = "truncated"       // a valid body cut short: 400
	BadNotJSON        = "not-json"        // form-encoded text: 400
	BadInvalidUTF8    = "invalid-utf8"    // 400
	BadNotObject      = "not-object"      // a JSON array: 422
	BadWrongKind      = "wrong-kind"      // iotId "abc", state "x": 422
	BadMissingRouting = "missing-routing" // no iotId / empty iotIdList / no orderId: 422
	BadCallTime       = "bad-calltime"    // callTime missing, 0 or negative: 422
	BadAddress        = "bad-address"     // receiveAddress with a broken checksum: 422
	BadHash           = "bad-hash"        // hash that is not 64 hex digits: 422
	BadEnum           = "bad-enum"        // state 7: 422
	BadMoney          = "bad-money"       // orderMoney with 7 decimals: 422
	BadSignature      = "bad-signature"   // wrong sign with a secret set: 401
	BadContentType    = "content-type"    // a valid body sent as text/plain: 415
)

// badCarwash makes a bad car-wash callback from a well-formed one of a
// known type (an unknown type has no routing key or kinds to break).
func (s *Sim) badCarwash(e cwEvent) Delivery {
	r := s.r
	fs := e.fields(false)
	d := Delivery{Source: SourceCarwash, Bad: true, Expect: http.StatusUnprocessableEntity}
	var kind string
	switch r.IntN(8) {
	case 0:
		kind, d.Expect = BadTruncated, http.StatusBadRequest
		b := render(fs, style(r.IntN(int(nStyles))))
		d.Body = b[:1+r.IntN(len(b)-1)]
	case 1:
		kind, d.Expect = BadNotJSON, http.StatusBadRequest
		d.Body = []byte("callTime=" + jint(e.callTime) + "&callbackType=" + e.typ + "&iotId=" + jint(e.iotID))
	case 2:
		kind, d.Expect = BadInvalidUTF8, http.StatusBadRequest
		fs = append(fs, field{"name", "\"Bay \xff\xfe\""})
		d.Body = render(fs, styleCompact)
	case 3:
		kind = BadNotObject
		d.Body = []byte("[" + string(render(fs, styleCompact)) + "]")
	case 4:
		kind = BadWrongKind
		if e.typ == machineUpdateStatus {
			fs = set(fs, "iotIdList", `["abc"]`)
		} else {
			fs = set(fs, "iotId", `"abc"`)
		}
		d.Body = render(fs, styleCompact)
	case 5:
		kind = BadMissingRouting
		switch {
		case e.orderID != "" && r.IntN(2) == 0:
			fs = drop(fs, "orderId")
		case e.typ == machineUpdateStatus:
			fs = set(fs, "iotIdList", "[]")
		default:
			fs = drop(fs, "iotId")
		}
		d.Body = render(fs, styleCompact)
	case 6:
		kind = BadCallTime
		switch r.IntN(3) {
		case 0:
			fs = drop(fs, "callTime")
		case 1:
			fs = set(fs, "callTime", "0")
		default:
			fs = set(fs, "callTime", "-"+jint(e.callTime))
		}
		d.Body = render(fs, styleCompact)
	default:
		kind, d.Expect, d.ContentType = BadContentType, http.StatusUnsupportedMediaType, "text/plain"
		d.Body = render(fs, styleCompact)
	}
	d.Kind = "bad:" + kind
	return d
}

// badEnergy makes a bad energy callback from a well-formed one. Bodies that
// must fail on a field rule are signed correctly (the signature is checked
// first), so they get 422, not 401.
func (s *Sim) badEnergy(e enEvent) (Delivery, error) {
	r := s.r
	fs := e.fields()
	d := Delivery{Source: SourceEnergy, Bad: true, Expect: http.StatusUnprocessableEntity}
	var kind string
	n := 8
	if s.signing() {
		n = 9
	}
	switch r.IntN(n) {
	case 0:
		kind, d.Expect = BadTruncated, http.StatusBadRequest
		b, err := s.signedBody(fs, stylePretty)
		if err != nil {
			return d, err
		}
		d.Body = b[:1+r.IntN(len(b)-1)]
	case 1:
		kind = BadAddress
		fs = set(fs, "receiveAddress", jstr(brokenAddress(e.o.address)))
	case 2:
		kind = BadHash
		fs = set(fs, "hash", jstr(strings.Repeat("zz", 32)))
	case 3:
		kind = BadMissingRouting
		fs = drop(fs, "orderId")
	case 4:
		kind = BadEnum
		fs = set(fs, "state", "7")
	case 5:
		kind = BadMoney
		fs = set(fs, "orderMoney", `"1.2345678"`)
	case 6:
		kind = BadWrongKind
		fs = set(fs, "residue", `"six"`)
	case 7:
		kind, d.Expect, d.ContentType = BadContentType, http.StatusUnsupportedMediaType, "text/plain"
	default:
		kind, d.Expect = BadSignature, http.StatusUnauthorized
		fs = append(fs, field{"sign", jstr(strings.Repeat("0", 32))})
		d.Body = render(fs, styleCompact)
	}
	if d.Body == nil {
		b, err := s.signedBody(fs, styleCompact)
		if err != nil {
			return d, err
		}
		d.Body = b
	}
	d.Kind = "bad:" + kind
	return d, nil
}

// brokenAddress changes one character of a valid address so that its
// checksum fails (the first, 'T', is kept).
func brokenAddress(a string) string {
	b := []byte(a)
	i := len(b) - 1
	if b[i] == '2' {
		b[i] = '3'
	} else {
		b[i] = '2'
	}
	return string(b)
}

// set replaces the value of key (adding it when absent) in a copy of fs.
func set(fs []field, key, val string) []field {
	out := append([]field(nil), fs...)
	for i := range out {
		if out[i].key == key {
			out[i].val = val
			return out
		}
	}
	return append(out, field{key, val})
}

// drop removes key from a copy of fs.
func drop(fs []field, key string) []field {
	out := make([]field, 0, len(fs))
	for _, f := range fs {
		if f.key != key {
			out = append(out, f)
		}
	}
	return out
}
