package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
)

func HOTP(key []byte, counter uint64) uint32 {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return (binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff) % 1000000
}
