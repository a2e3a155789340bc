const mysql = require('mysql2');
function findOrders(connection, customer) {
  return connection.execute("SELECT * FROM orders WHERE customer = '" + customer + "'");
}
