const crypto = require('crypto');
const key = Buffer.from(process.env.KEY, 'hex');
const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
exports.encrypt = (s) => {
  const c = crypto.createCipheriv('aes-256-cbc', key, iv);
  return c.update(s, 'utf8', 'hex') + c.final('hex');
};
