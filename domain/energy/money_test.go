package energy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"testing"
)

func TestParseSunCases(t *testing.T) {
	for _, c := range readCases(t, "money.txt") {
		in, want := c[0], c[1]
		for _, v := range []any{in, json.Number(in)} {
			got, err := ParseSun(v)
			if want == "error" {
				if !errors.Is(err, ErrInvalidMoney) {
					t.Errorf("ParseSun(%T %q) = %d, %v; want ErrInvalidMoney", v, in, got, err)
				}
				continue
			}
			n, _ := strconv.ParseInt(want, 10, 64)
			if err != nil || got != n {
				t.Errorf("ParseSun(%T %q) = %d, %v; want %d", v, in, got, err, n)
			}
		}
	}
}

func TestParseSunGoTypes(t *testing.T) {
	if n, err := ParseSun(int64(5)); err != nil || n != 5 {
		t.Errorf("int64: %d %v", n, err)
	}
	if n, err := ParseSun(7); err != nil || n != 7 {
		t.Errorf("int: %d %v", n, err)
	}
	for _, v := range []any{-1, int64(-1), 1.96, float32(1), nil, true} {
		if _, err := ParseSun(v); !errors.Is(err, ErrInvalidMoney) {
			t.Errorf("ParseSun(%T %v): err = %v, want ErrInvalidMoney", v, v, err)
		}
	}
}

func TestFormatTrx(t *testing.T) {
	for sun, want := range map[int64]string{
		0:             "0.000000",
		1:             "0.000001",
		1960000:       "1.960000",
		264000000:     "264.000000",
		132000001:     "132.000001",
		-1:            "-0.000001",
		-1960000:      "-1.960000",
		math.MaxInt64: "9223372036854.775807",
		math.MinInt64: "-9223372036854.775808",
	} {
		if got := FormatTrx(sun); got != want {
			t.Errorf("FormatTrx(%d) = %q, want %q", sun, got, want)
		}
	}
}

func ExampleFormatTrx() {
	sun, _ := ParseSun("1.96") // legacy TRX
	fmt.Println(sun, FormatTrx(sun), FormatTrx(264000000))
	// Output: 1960000 1.960000 264.000000
}

var decimalRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]{1,6}))?$`)

// FuzzParseSun checks ParseSun against math/big and the FormatTrx round trip.
func FuzzParseSun(f *testing.F) {
	for _, c := range readCases(f, "money.txt") {
		f.Add(c[0])
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSun(s)
		want, ok := bigSun(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("ParseSun(%q) = %d, %v; math/big says %d, %v", s, got, err, want, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidMoney) {
				t.Fatalf("error %v does not wrap ErrInvalidMoney", err)
			}
			return
		}
		back, err := ParseSun(FormatTrx(got))
		if err != nil || back != got {
			t.Fatalf("round trip of %d via %q: %d, %v", got, FormatTrx(got), back, err)
		}
	})
}

// bigSun is the reference: digits are sun; digits.frac (≤ 6) are TRX.
func bigSun(s string) (int64, bool) {
	m := decimalRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, _ := new(big.Int).SetString(m[1], 10)
	if len(s) > len(m[1]) { // had a decimal point
		frac := m[2] + "000000"[len(m[2]):]
		f, _ := new(big.Int).SetString(frac, 10)
		v.Mul(v, big.NewInt(SunPerTrx)).Add(v, f)
	}
	if !v.IsInt64() {
		return 0, false
	}
	return v.Int64(), true
}
