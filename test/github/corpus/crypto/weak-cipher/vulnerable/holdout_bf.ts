import crypto from 'node:crypto';
export const enc = (key: Buffer, iv: Buffer) => crypto.createCipheriv('bf-cbc', key, iv);
