const crypto = require('crypto');
const IV = Buffer.from('0123456789abcdef');

function encrypt(key, text) {
  const cipher = crypto.createCipheriv('aes-256-cbc', key, IV);
  return cipher.update(text, 'utf8', 'hex') + cipher.final('hex');
}
