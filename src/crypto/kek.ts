import { ConfigError } from '../config.js';

/**
 * A key-encryption key (KEK) provider wraps and unwraps per-organization data keys. The KEK never
 * leaves the provider: the local keyring keeps it in memory, an HSM keeps it on the token.
 * `kekId` names the exact KEK version, so rotation can tell which wraps are stale.
 */
export interface KekProvider {
  readonly kind: 'local' | 'pkcs11';
  /** The KEK new wraps use. */
  currentKekId(): string;
  /** Every KEK this provider can unwrap with. */
  knownKekIds(): string[];
  wrap(dataKey: Buffer, aad: Buffer): Promise<{ kekId: string; wrapped: Buffer }>;
  unwrap(kekId: string, wrapped: Buffer, aad: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/** A start-up error that names the variable to fix; the CLI prints it like any configuration error. */
export class KeyProviderError extends ConfigError {
  constructor(variable: string, message: string) {
    super(variable, message);
    this.name = 'KeyProviderError';
  }
}
