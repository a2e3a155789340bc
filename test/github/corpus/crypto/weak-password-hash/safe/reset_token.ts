import { createHash, randomBytes } from 'node:crypto';

// The reset token is 32 random bytes; storing its SHA-256 is enough (it is not a password).
export function newPasswordResetToken() {
  const token = randomBytes(32).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest('hex');
  return { token, tokenHash };
}
