package store

import "database/sql"

func Delete(db *sql.DB, table, id string) error {
	_, err := db.Exec("DELETE FROM " + table + " WHERE id = " + id)
	return err
}
