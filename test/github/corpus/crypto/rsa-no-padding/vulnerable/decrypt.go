package rawrsa

import (
	"crypto/rsa"
	"math/big"
)

func Decrypt(priv *rsa.PrivateKey, c *big.Int) *big.Int {
	return new(big.Int).Exp(c, priv.D, priv.N)
}
