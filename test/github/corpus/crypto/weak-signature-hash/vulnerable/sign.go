package release

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
)

func SignManifestBytes(key *rsa.PrivateKey, data []byte) ([]byte, error) {
	h := sha1.Sum(data)
	return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, h[:])
}
