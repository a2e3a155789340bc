const crypto = require('crypto');
const nonce = crypto.randomBytes(12);
const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
