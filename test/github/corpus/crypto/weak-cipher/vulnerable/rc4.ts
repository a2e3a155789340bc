import crypto from 'crypto';

export function obfuscate(key: Buffer, data: Buffer) {
  const c = crypto.createCipheriv('rc4', key, null);
  return c.update(data);
}
