const crypto = require('crypto');

function checkLogin(user, password) {
  const hashed = crypto.createHash('md5').update(password).digest('hex');
  return hashed === user.passwordHash;
}
module.exports = { checkLogin };
