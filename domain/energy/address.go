package energy

import "crypto/sha256"

// addressPrefix is the first byte of every TRON mainnet address.
const addressPrefix = 0x41

// base58Alphabet is the Bitcoin alphabet TRON uses.
const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58Index maps an ASCII byte to its base58 digit, or -1.
var base58Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		t[base58Alphabet[i]] = int8(i)
	}
	return t
}()

// ValidAddress reports whether s is a TRON base58check address: 34
// characters starting with T that decode to 25 bytes, the first 0x41, the
// last 4 the first 4 bytes of the double SHA-256 of the first 21.
func ValidAddress(s string) bool {
	if len(s) != 34 || s[0] != 'T' {
		return false
	}
	var b [25]byte
	for i := 0; i < len(s); i++ {
		d := base58Index[s[i]]
		if d < 0 {
			return false
		}
		carry := uint32(d)
		for j := len(b) - 1; j >= 0; j-- {
			carry += uint32(b[j]) * 58
			b[j] = byte(carry)
			carry >>= 8
		}
		if carry != 0 { // more than 25 bytes
			return false
		}
	}
	if b[0] != addressPrefix {
		return false
	}
	first := sha256.Sum256(b[:21])
	second := sha256.Sum256(first[:])
	return second[0] == b[21] && second[1] == b[22] && second[2] == b[23] && second[3] == b[24]
}

// ValidTxHash reports whether s is a transaction hash: 64 hex digits
// (either case).
func ValidTxHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
