package box

import "crypto/cipher"

func Open(aead cipher.AEAD, sealed []byte) ([]byte, error) {
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], nil)
}
