import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';
import { type KekProvider, KeyProviderError } from './kek.js';

const require = createRequire(import.meta.url);

export interface Pkcs11Options {
  module: string;
  tokenLabel: string;
  pin: string;
  /** Labels of AES-256 keys on the token; the first wraps new data keys. */
  keyLabels: string[];
}

/**
 * KEK in a PKCS#11 HSM (customer-managed key). Data keys are wrapped with CKM_AES_GCM by a
 * non-extractable AES-256 key that never leaves the token. One session, and every call goes
 * through a queue: SoftHSM (and some HSMs) misbehave under concurrent use of a session.
 */
export class Pkcs11Kek implements KekProvider {
  readonly kind = 'pkcs11' as const;
  private readonly p11: Pkcs11Types.PKCS11;
  private readonly session: Buffer;
  private readonly handles = new Map<string, Buffer>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly opts: Pkcs11Options) {
    const pkcs11js = require('pkcs11js') as typeof Pkcs11Types;
    this.p11 = new pkcs11js.PKCS11();
    try {
      this.p11.load(opts.module);
    } catch (err) {
      throw new KeyProviderError('PALISADE_PKCS11_MODULE', `cannot load ${opts.module} (${(err as Error).message}).`);
    }
    this.p11.C_Initialize();
    try {
      const slot = this.p11
        .C_GetSlotList(true)
        .find((s) => this.p11.C_GetTokenInfo(s).label.trim() === opts.tokenLabel);
      if (!slot)
        throw new KeyProviderError(
          'PALISADE_PKCS11_TOKEN_LABEL',
          `no initialized token labelled "${opts.tokenLabel}" in ${opts.module}.`,
        );
      this.session = this.p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        this.p11.C_Login(this.session, pkcs11js.CKU_USER, opts.pin);
      } catch (err) {
        throw new KeyProviderError(
          'PALISADE_PKCS11_PIN',
          `login to token "${opts.tokenLabel}" failed (${(err as Error).message}).`,
        );
      }
      for (const label of opts.keyLabels) {
        this.p11.C_FindObjectsInit(this.session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_LABEL, value: label },
        ]);
        const found = this.p11.C_FindObjects(this.session, 2);
        this.p11.C_FindObjectsFinal(this.session);
        if (found.length !== 1)
          throw new KeyProviderError(
            'PALISADE_PKCS11_KEY_LABEL',
            `expected exactly one secret key labelled "${label}" on token "${opts.tokenLabel}", found ${found.length}.`,
          );
        this.handles.set(label, found[0] as Buffer);
      }
    } catch (err) {
      this.p11.C_Finalize();
      throw err;
    }
  }

  currentKekId(): string {
    return `pkcs11:${this.opts.keyLabels[0] as string}`;
  }
  knownKekIds(): string[] {
    return this.opts.keyLabels.map((l) => `pkcs11:${l}`);
  }

  wrap(dataKey: Buffer, aad: Buffer): Promise<{ kekId: string; wrapped: Buffer }> {
    const kekId = this.currentKekId();
    return this.serial(() => {
      const iv = randomBytes(12);
      return { kekId, wrapped: Buffer.concat([iv, this.crypt('encrypt', kekId, iv, aad, dataKey)]) };
    });
  }

  unwrap(kekId: string, wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    return this.serial(() => this.crypt('decrypt', kekId, wrapped.subarray(0, 12), aad, wrapped.subarray(12)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.serial(() => {
      try {
        this.p11.C_Logout(this.session);
        this.p11.C_CloseSession(this.session);
      } finally {
        this.p11.C_Finalize();
      }
    });
  }

  private crypt(op: 'encrypt' | 'decrypt', kekId: string, iv: Buffer, aad: Buffer, data: Buffer): Buffer {
    const pkcs11js = require('pkcs11js') as typeof Pkcs11Types;
    const key = this.handles.get(kekId.replace(/^pkcs11:/, ''));
    if (!key)
      throw new Error(
        `HSM key ${kekId} is not configured; add its label to PALISADE_PKCS11_KEY_LABEL to read data wrapped with it`,
      );
    const mech = {
      mechanism: pkcs11js.CKM_AES_GCM,
      parameter: {
        type: pkcs11js.CK_PARAMS_AES_GCM,
        iv,
        aad: Buffer.concat([aad, Buffer.from(`|${kekId}`)]),
        ivBits: 96,
        tagBits: 128,
      },
    };
    const out = Buffer.alloc(data.length + 16);
    if (op === 'encrypt') {
      this.p11.C_EncryptInit(this.session, mech, key);
      return Buffer.from(this.p11.C_Encrypt(this.session, data, out));
    }
    this.p11.C_DecryptInit(this.session, mech, key);
    return Buffer.from(this.p11.C_Decrypt(this.session, data, out));
  }

  private serial<T>(fn: () => T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
