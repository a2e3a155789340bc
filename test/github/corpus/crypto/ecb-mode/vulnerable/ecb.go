package crypt

import "crypto/aes"

func EncryptECB(key, plaintext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(plaintext))
	for i := 0; i < len(plaintext); i += aes.BlockSize {
		block.Encrypt(out[i:i+aes.BlockSize], plaintext[i:i+aes.BlockSize])
	}
	return out, nil
}
