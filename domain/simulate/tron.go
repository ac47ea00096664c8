package simulate

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
)

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// tronAddress is a valid TRON mainnet address: base58check of 0x41 and 20
// random bytes.
func tronAddress(r *rand.Rand) string {
	var b [25]byte
	b[0] = 0x41
	for i := 1; i < 21; i++ {
		b[i] = byte(r.UintN(256))
	}
	first := sha256.Sum256(b[:21])
	second := sha256.Sum256(first[:])
	copy(b[21:], second[:4])
	return base58(b[:])
}

// base58 encodes b (no leading zero bytes here: the first is 0x41).
func base58(b []byte) string {
	num := append([]byte(nil), b...)
	var out []byte
	for len(num) > 0 {
		var rem int
		next := num[:0]
		for _, d := range num {
			acc := rem<<8 | int(d)
			q := acc / 58
			rem = acc % 58
			if len(next) > 0 || q > 0 {
				next = append(next, byte(q))
			}
		}
		out = append(out, base58Alphabet[rem])
		num = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// txHash is 64 random lowercase hex digits.
func txHash(r *rand.Rand) string {
	var b [32]byte
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(b[:])
}
