package sig

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
)

func Sign(priv *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	digest := sha1.Sum(msg)
	return ecdsa.SignASN1(rand.Reader, priv, digest[:])
}
