const crypto = require('crypto');

function encryptCard(number, key) {
  const cipher = crypto.createCipheriv('aes-256-ecb', key, null);
  return Buffer.concat([cipher.update(number, 'utf8'), cipher.final()]).toString('base64');
}
