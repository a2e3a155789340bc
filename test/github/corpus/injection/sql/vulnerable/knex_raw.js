async function search(term) {
  return knex.raw(`select * from products where name like '%${term}%'`);
}
