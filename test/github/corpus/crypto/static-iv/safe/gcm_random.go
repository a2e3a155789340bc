package box

import (
	"crypto/cipher"
	"crypto/rand"
)

func Seal(aead cipher.AEAD, msg []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, msg, nil), nil
}
