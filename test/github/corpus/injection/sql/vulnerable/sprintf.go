package store

import (
	"database/sql"
	"fmt"
)

func UserByName(db *sql.DB, name string) (*sql.Rows, error) {
	return db.Query(fmt.Sprintf("SELECT * FROM users WHERE name = '%s'", name))
}
