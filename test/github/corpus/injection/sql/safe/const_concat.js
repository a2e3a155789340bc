const COLUMNS = 'id, name, email';
async function list(pool) {
  return pool.query('SELECT ' + 'id, name' + ' FROM users ORDER BY id');
}
