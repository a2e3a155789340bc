const crypto = require('crypto');
module.exports = (key, s) => {
  const c = crypto.createCipheriv('aes-128-cbc', key, 'abcdefghijklmnop');
  return c.update(s, 'utf8', 'base64') + c.final('base64');
};
