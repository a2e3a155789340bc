async function orders(status) {
  const sql = 'SELECT * FROM orders WHERE status = "' + status + '" ORDER BY created_at';
  return sequelize.query(sql);
}
