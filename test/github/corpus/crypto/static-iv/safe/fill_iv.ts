import { createCipheriv, randomFillSync } from 'node:crypto';

export function seal(key: Buffer, data: Buffer) {
  const iv = Buffer.alloc(12);
  randomFillSync(iv);
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, c.update(data), c.final(), c.getAuthTag()]);
}
