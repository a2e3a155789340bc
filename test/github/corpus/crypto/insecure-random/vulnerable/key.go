package keys

import "math/rand"

func GenerateKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return key
}
