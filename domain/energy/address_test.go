package energy

import (
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"
)

// encodeAddress is an independent base58check encoder (math/big).
func encodeAddress(prefix byte, payload []byte) string {
	b := append([]byte{prefix}, payload...)
	first := sha256.Sum256(b)
	second := sha256.Sum256(first[:])
	b = append(b, second[:4]...)
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod, base := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append([]byte{base58Alphabet[mod.Int64()]}, out...)
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append([]byte{'1'}, out...)
	}
	return string(out)
}

// refValidAddress is an independent checker (math/big) for the fuzz target.
func refValidAddress(s string) bool {
	if len(s) != 34 || s[0] != 'T' {
		return false
	}
	n := new(big.Int)
	for _, c := range []byte(s) {
		d := strings.IndexByte(base58Alphabet, c)
		if d < 0 {
			return false
		}
		n.Mul(n, big.NewInt(58)).Add(n, big.NewInt(int64(d)))
	}
	if n.BitLen() > 200 {
		return false
	}
	b := n.FillBytes(make([]byte, 25))
	sum1 := sha256.Sum256(b[:21])
	sum2 := sha256.Sum256(sum1[:])
	return b[0] == 0x41 && string(sum2[:4]) == string(b[21:])
}

func TestValidAddressCases(t *testing.T) {
	for _, c := range readCases(t, "addresses.txt") {
		if got := ValidAddress(c[0]); got != (c[1] == "valid") {
			t.Errorf("ValidAddress(%q) = %v, want %s", c[0], got, c[1])
		}
	}
}

func TestValidAddressGenerated(t *testing.T) {
	for i := range 200 {
		payload := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		a := encodeAddress(0x41, payload[:20])
		if !ValidAddress(a) {
			t.Fatalf("generated %s (payload %x) rejected", a, payload[:20])
		}
		// Every single-character substitution breaks it.
		for pos := 1; pos < len(a); pos += 5 {
			c := base58Alphabet[(strings.IndexByte(base58Alphabet, a[pos])+1)%58]
			bad := a[:pos] + string(c) + a[pos+1:]
			if ValidAddress(bad) {
				t.Fatalf("corrupted %s (from %s) accepted", bad, a)
			}
		}
	}
	// A checksum that is right for another prefix is wrong here.
	if a := encodeAddress(0x42, make([]byte, 20)); ValidAddress(a) {
		t.Errorf("prefix 0x42 address %s accepted", a)
	}
	if a := encodeAddress(0x41, make([]byte, 19)); ValidAddress(a) {
		t.Errorf("short payload address %s accepted", a)
	}
}

func TestValidTxHash(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	for s, want := range map[string]bool{
		good:                    true,
		strings.ToUpper(good):   true,
		good[:63]:               false,
		good + "0":              false,
		"g" + good[1:]:          false,
		"0x" + good[2:]:         false,
		"":                      false,
		strings.Repeat("é", 32): false,
	} {
		if got := ValidTxHash(s); got != want {
			t.Errorf("ValidTxHash(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidAddress(f *testing.F) {
	for _, c := range readCases(f, "addresses.txt") {
		f.Add(c[0])
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidAddress(s), refValidAddress(s); got != want {
			t.Fatalf("ValidAddress(%q) = %v, reference says %v", s, got, want)
		}
	})
}
