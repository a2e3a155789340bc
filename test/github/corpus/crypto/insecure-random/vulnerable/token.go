package auth

import (
	"math/rand"
	"strconv"
)

func NewSessionToken() string {
	return strconv.FormatInt(rand.Int63(), 36)
}
