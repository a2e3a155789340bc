package rawrsa

import (
	"crypto/rsa"
	"math/big"
)

func Encrypt(pub *rsa.PublicKey, m *big.Int) *big.Int {
	return new(big.Int).Exp(m, big.NewInt(int64(pub.E)), pub.N)
}
