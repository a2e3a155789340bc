package crypt

import "crypto/aes"

func NewBlock(key []byte) error {
	_, err := aes.NewCipher(key)
	return err
}
