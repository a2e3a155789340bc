package legacy

import "crypto/des"

func Block(key []byte) error {
	_, err := des.NewTripleDESCipher(key)
	return err
}
