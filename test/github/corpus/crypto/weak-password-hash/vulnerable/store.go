package store

import (
	"crypto/sha1"
	"fmt"
)

func (s *Store) SaveUser(name, passwd string) error {
	h := sha1.New()
	h.Write([]byte(passwd))
	return s.db.Exec("INSERT INTO users(name, pw) VALUES(?, ?)", name, fmt.Sprintf("%x", h.Sum(nil)))
}
