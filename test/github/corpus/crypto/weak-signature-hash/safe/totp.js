const crypto = require('crypto');

// RFC 6238 TOTP: HMAC-SHA1 is what authenticator apps implement.
function totp(secret, step = Math.floor(Date.now() / 30000)) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1e6).toString().padStart(6, '0');
}
