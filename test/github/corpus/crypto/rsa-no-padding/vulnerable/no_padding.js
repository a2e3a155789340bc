const crypto = require('crypto');

function encryptKey(publicKey, data) {
  return crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_NO_PADDING }, data);
}
