export async function findByEmail(db: Db, email: string) {
  return db.query("SELECT id, name FROM accounts WHERE email = '" + email + "'");
}
