package auth

import "golang.org/x/crypto/bcrypt"

// bcrypt is built on Blowfish's key schedule, and is a sound password hash.
func Hash(pw []byte) ([]byte, error) { return bcrypt.GenerateFromPassword(pw, 12) }
