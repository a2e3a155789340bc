const crypto = require('crypto');

// The caller passes the IV it stored with the ciphertext.
function decrypt(key, iv, data) {
  const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([d.update(data), d.final()]);
}
