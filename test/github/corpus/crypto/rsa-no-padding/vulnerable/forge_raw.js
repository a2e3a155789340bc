const forge = require('node-forge');

function encrypt(pem, bytes) {
  const publicKey = forge.pki.publicKeyFromPem(pem);
  return publicKey.encrypt(bytes, 'RAW');
}
