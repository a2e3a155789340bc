import { createCipheriv } from 'crypto';

export function seal(key: Buffer, data: Buffer) {
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.alloc(12));
  return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}
