import { createDecipheriv } from 'crypto';

export function decryptBlob(key: Buffer, data: Buffer): Buffer {
  const d = createDecipheriv('aes-128-ecb', key, Buffer.alloc(0));
  return Buffer.concat([d.update(data), d.final()]);
}
