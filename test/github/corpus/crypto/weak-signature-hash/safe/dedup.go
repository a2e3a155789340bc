package dedup

import (
	"crypto/md5"
	"encoding/hex"
)

// Key identifies duplicate uploads in the cache; collisions only cost a re-upload.
func Key(content []byte) string {
	sum := md5.Sum(content)
	return hex.EncodeToString(sum[:])
}
