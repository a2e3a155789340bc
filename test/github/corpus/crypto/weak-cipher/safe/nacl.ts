import nacl from 'tweetnacl';

export function seal(msg: Uint8Array, key: Uint8Array) {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  return { nonce, box: nacl.secretbox(msg, nonce, key) };
}
