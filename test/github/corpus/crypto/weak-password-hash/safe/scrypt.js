const crypto = require('crypto');

async function hashPassword(password) {
  const salt = crypto.randomBytes(16);
  const key = await new Promise((resolve, reject) =>
    crypto.scrypt(password, salt, 64, (err, derived) => (err ? reject(err) : resolve(derived))));
  return `${salt.toString('hex')}:${key.toString('hex')}`;
}
