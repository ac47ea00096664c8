package domain

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
)

// callbackNamespace is the UUIDv5 namespace of callback event ids,
// 3f1c8e52-0b7d-5a61-9c42-6e0d1a77b390: a fixed random value (it is not
// derived from anything), never to change, as every stored id depends on it.
var callbackNamespace = [16]byte{0x3f, 0x1c, 0x8e, 0x52, 0x0b, 0x7d, 0x5a, 0x61, 0x9c, 0x42, 0x6e, 0x0d, 0x1a, 0x77, 0xb3, 0x90}

// EventID is the deterministic id of a callback: UUIDv5 over the source and
// the SHA-256 of the canonical JSON of its body, so a retry, however
// re-serialised, maps to the same event.
func EventID(source string, canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return uuidV5(callbackNamespace, source+":"+hex.EncodeToString(sum[:]))
}

// uuidV5 implements RFC 9562 §5.5 (SHA-1 name-based UUID).
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	return string(out[:])
}
