import * as crypto from 'crypto';

export class Vault {
  unlockKeyFromPassphrase(passphrase: string): Buffer {
    return crypto.createHash('sha256').update(passphrase).digest();
  }
}
