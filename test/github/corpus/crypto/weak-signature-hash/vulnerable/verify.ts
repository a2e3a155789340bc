import { verify } from 'node:crypto';
import crypto from 'node:crypto';

export function verifyLicense(data: Buffer, signature: Buffer, publicKey: string): boolean {
  return crypto.verify('sha1', data, publicKey, signature);
}
