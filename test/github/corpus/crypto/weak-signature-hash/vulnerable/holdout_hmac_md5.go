package api

import (
	"crypto/md5"
	"encoding/hex"
)

func SignRequest(secret, body string) string {
	sum := md5.Sum([]byte(secret + body))
	return hex.EncodeToString(sum[:])
}
