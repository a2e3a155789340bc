package math2

import "math/big"

func PowMod(b, e, m *big.Int) *big.Int {
	return new(big.Int).Exp(b, e, m)
}
