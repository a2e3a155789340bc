import { createCipheriv, randomBytes } from 'node:crypto';

export function encryptCbc(key: Buffer, data: Buffer) {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', key, iv);
  return { iv, ct: Buffer.concat([c.update(data), c.final()]) };
}
