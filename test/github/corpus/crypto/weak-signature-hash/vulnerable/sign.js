const crypto = require('crypto');

function signInvoice(invoice, privateKey) {
  const signer = crypto.createSign('RSA-SHA1');
  signer.update(JSON.stringify(invoice));
  return signer.sign(privateKey, 'base64');
}
