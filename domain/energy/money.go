package energy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// SunPerTrx is the number of sun in one TRX.
const SunPerTrx = 1_000_000

// ErrInvalidMoney: an orderMoney value that is not an exact, non-negative
// amount of sun (or of TRX with at most 6 decimals) fitting in int64.
var ErrInvalidMoney = errors.New("invalid money amount")

// ParseSun reads an orderMoney value as sent: a JSON number (json.Number)
// or a numeric string. An integer is sun; a value with a decimal point is
// legacy TRX and is converted exactly (1 TRX = 1,000,000 sun, at most 6
// decimals). Negative values, exponents, floats, more than 6 decimals and
// amounts beyond int64 are errors wrapping ErrInvalidMoney.
func ParseSun(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		return parseSunText(string(x))
	case string:
		return parseSunText(x)
	case int64:
		return nonNegative(x)
	case int:
		return nonNegative(int64(x))
	case int32:
		return nonNegative(int64(x))
	default:
		return 0, fmt.Errorf("%T is not a number or numeric string: %w", v, ErrInvalidMoney)
	}
}

func nonNegative(n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("%d is negative: %w", n, ErrInvalidMoney)
	}
	return n, nil
}

// parseSunText parses digits with an optional fractional part of 1 to 6
// digits, by integer arithmetic only.
func parseSunText(s string) (int64, error) {
	intPart, frac := s, ""
	point := false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac, point = s[:i], s[i+1:], true
			break
		}
	}
	if !allDigits(intPart) || (point && !allDigits(frac)) {
		return 0, fmt.Errorf("%q is not a non-negative decimal number: %w", s, ErrInvalidMoney)
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range: %w", s, ErrInvalidMoney)
	}
	if !point {
		return whole, nil
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than 6 decimals: %w", s, ErrInvalidMoney)
	}
	var fracSun int64
	for i := range 6 {
		fracSun *= 10
		if i < len(frac) {
			fracSun += int64(frac[i] - '0')
		}
	}
	if whole > (math.MaxInt64-fracSun)/SunPerTrx {
		return 0, fmt.Errorf("%q TRX is out of range: %w", s, ErrInvalidMoney)
	}
	return whole*SunPerTrx + fracSun, nil
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatTrx renders an amount of sun as TRX with exactly 6 decimals,
// e.g. 264000000 → "264.000000", -1 → "-0.000001".
func FormatTrx(sun int64) string {
	neg := sun < 0
	u := uint64(sun)
	if neg {
		u = -u // two's complement: exact even for math.MinInt64
	}
	frac := strconv.FormatUint(u%SunPerTrx, 10)
	out := make([]byte, 0, 28)
	if neg {
		out = append(out, '-')
	}
	out = strconv.AppendUint(out, u/SunPerTrx, 10)
	out = append(out, '.')
	for range 6 - len(frac) {
		out = append(out, '0')
	}
	return string(append(out, frac...))
}
