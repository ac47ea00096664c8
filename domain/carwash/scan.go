package carwash

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tidemark/tidemark/domain"
)

// A small validating scanner over a top-level JSON object. It exists for
// two reasons: encoding/json matches struct fields case-insensitively, so
// `"IOTID"` would land in IotID while the canonical map keeps it as its own
// key (routing must read exactly the key the map has); and the rebuild path
// parses every stored event, where json.Valid plus a second walk would
// double the cost. It checks the JSON grammar (not UTF-8, like json.Valid).

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// scanFields returns the raw JSON value of every member of the object data
// that names a field, indexed by field; absent members are nil. A later
// duplicate key wins, as in encoding/json. It returns an error wrapping
// domain.ErrMalformed for invalid JSON and a *domain.ValidationError when
// the value is not an object.
func scanFields(data []byte) ([nFields][]byte, error) {
	var vals [nFields][]byte
	i := skipSpace(data, 0)
	if i < len(data) && data[i] != '{' {
		if end := scanValue(data, i, 0); end < 0 || skipSpace(data, end) != len(data) {
			return vals, malformed()
		}
		return vals, &domain.ValidationError{Field: "body", Rule: "object", Message: "body must be a JSON object"}
	}
	end := scanObject(data, i, 0, &vals)
	if end < 0 || skipSpace(data, end) != len(data) {
		return [nFields][]byte{}, malformed()
	}
	return vals, nil
}

func malformed() error {
	return fmt.Errorf("callback data is not valid JSON: %w", domain.ErrMalformed)
}

// scanObject checks the object at d[i] and returns the index after it, or
// -1. With vals non-nil it records the members that name fields.
func scanObject(d []byte, i, depth int, vals *[nFields][]byte) int {
	if i >= len(d) || d[i] != '{' || depth >= maxDepth {
		return -1
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return -1
		}
		kend := scanString(d, i)
		if kend < 0 {
			return -1
		}
		key := d[i+1 : kend-1]
		i = skipSpace(d, kend)
		if i >= len(d) || d[i] != ':' {
			return -1
		}
		i = skipSpace(d, i+1)
		vend := scanValue(d, i, depth+1)
		if vend < 0 {
			return -1
		}
		if vals != nil {
			if f, ok := fieldOf(key); ok {
				vals[f] = d[i:vend]
			}
		}
		i = skipSpace(d, vend)
		if i >= len(d) {
			return -1
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return i + 1
		default:
			return -1
		}
	}
}

// scanArray checks the array at d[i]; with fn non-nil it is called with
// each element (stopping when it returns false).
func scanArray(d []byte, i, depth int, fn func(n int, elem []byte) bool) int {
	if i >= len(d) || d[i] != '[' || depth >= maxDepth {
		return -1
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1
	}
	for n := 0; ; n++ {
		end := scanValue(d, i, depth+1)
		if end < 0 {
			return -1
		}
		if fn != nil && !fn(n, d[i:end]) {
			fn = nil
		}
		i = skipSpace(d, end)
		if i >= len(d) {
			return -1
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case ']':
			return i + 1
		default:
			return -1
		}
	}
}

// scanValue checks the value at d[i] and returns the index after it, or -1.
func scanValue(d []byte, i, depth int) int {
	if i >= len(d) {
		return -1
	}
	switch c := d[i]; {
	case c == '"':
		return scanString(d, i)
	case c == '{':
		return scanObject(d, i, depth, nil)
	case c == '[':
		return scanArray(d, i, depth, nil)
	case c == 't':
		return scanLiteral(d, i, "true")
	case c == 'f':
		return scanLiteral(d, i, "false")
	case c == 'n':
		return scanLiteral(d, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		end := i
		for end < len(d) && isNumberByte(d[end]) {
			end++
		}
		if !isNumber(d[i:end]) {
			return -1
		}
		return end
	}
	return -1
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func scanLiteral(d []byte, i int, lit string) int {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanString checks the string at d[i] (escapes, no control characters)
// and returns the index after its closing quote, or -1.
func scanString(d []byte, i int) int {
	for i++; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(d) {
				return -1
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(d)-i < 5 || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
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
	switch string(key) {
	case "callTime":
		return fCallTime, true
	case "callbackType":
		return fCallbackType, true
	case "iotId":
		return fIotID, true
	case "iotIdList":
		return fIotIDList, true
	case "orderId":
		return fOrderID, true
	case "orderIdList":
		return fOrderIDList, true
	case "status":
		return fStatus, true
	case "name":
		return fName, true
	case "country":
		return fCountry, true
	case "address":
		return fAddress, true
	case "longitude":
		return fLongitude, true
	case "latitude":
		return fLatitude, true
	case "errorStatus":
		return fErrorStatus, true
	case "onlineStatus":
		return fOnlineStatus, true
	case "machineType":
		return fMachineType, true
	case "errorMessage":
		return fErrorMessage, true
	case "createTime":
		return fCreateTime, true
	case "volume":
		return fVolume, true
	case "sourceTds":
		return fSourceTds, true
	case "cleanTds":
		return fCleanTds, true
	}
	return 0, false
}

// eachElement calls fn with each element of the JSON array v (already
// checked), stopping at the first error.
func eachElement(v []byte, fn func(i int, elem []byte) error) error {
	var err error
	scanArray(v, 0, 0, func(n int, elem []byte) bool {
		err = fn(n, elem)
		return err == nil
	})
	return err
}
