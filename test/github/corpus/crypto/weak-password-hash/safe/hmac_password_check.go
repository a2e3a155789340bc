package auth

import (
	"crypto/subtle"
	"golang.org/x/crypto/argon2"
)

func VerifyPassword(password string, salt, expected []byte) bool {
	got := argon2.IDKey([]byte(password), salt, 1, 64*1024, 4, 32)
	return subtle.ConstantTimeCompare(got, expected) == 1
}
