import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { badRequest } from '../errors.js';

/** scrypt with parameters stored in the hash, so the cost can be raised without breaking old hashes. */
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scryptCb(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

export function checkPasswordPolicy(password: string): void {
  if (password.length < PASSWORD_MIN)
    throw badRequest(
      'password_too_short',
      `Choose a password of at least ${PASSWORD_MIN} characters; a passphrase of several words works well.`,
    );
  if (password.length > PASSWORD_MAX)
    throw badRequest('password_too_long', `Passwords are limited to ${PASSWORD_MAX} characters.`);
}

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, logN, 8, 1);
  return `scrypt$${logN}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const [, logN, r, p, salt, expected] = m as unknown as [string, string, string, string, string, string];
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
  const want = Buffer.from(expected, 'base64url');
  return key.length === want.length && timingSafeEqual(key, want);
}

/** Spends the same time as a real check, so unknown accounts are not told apart by timing. */
export async function burnPasswordCheck(password: string, logN: number): Promise<void> {
  await scrypt(password, Buffer.alloc(16), logN, 8, 1);
}
