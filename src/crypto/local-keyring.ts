import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { PalisadeConfig } from '../config.js';
import { open, seal } from './aead.js';
import { type KekProvider, KeyProviderError } from './kek.js';

/**
 * The default KEK provider: master keys held in memory, read from PALISADE_MASTER_KEY or the file
 * PALISADE_MASTER_KEY_FILE. Format: one base64 key (32 bytes, id "1"), or "id:base64,id:base64"
 * where the first is current and the others are kept to unwrap until the re-wrap job has run.
 */
export class LocalKeyring implements KekProvider {
  readonly kind = 'local' as const;
  private readonly keys = new Map<string, Buffer>();
  private readonly current: string;

  constructor(spec: string, variable: string) {
    const parts = spec
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (parts.length === 0)
      throw new KeyProviderError(
        variable,
        'is empty; set it to base64 of 32 random bytes (for example `openssl rand -base64 32`).',
      );
    for (const part of parts) {
      const m = /^(?:([A-Za-z0-9_-]{1,32}):)?([A-Za-z0-9+/=_-]+)$/.exec(part);
      const id = m?.[1] ?? (parts.length === 1 ? '1' : undefined);
      const key = m ? Buffer.from(m[2] as string, 'base64') : Buffer.alloc(0);
      if (!m || id === undefined)
        throw new KeyProviderError(variable, 'with several keys, write each as "id:base64", the current one first.');
      if (key.length !== 32)
        throw new KeyProviderError(
          variable,
          `key "${id}" is ${key.length} bytes after base64 decoding; it must be exactly 32 (openssl rand -base64 32).`,
        );
      if (this.keys.has(id)) throw new KeyProviderError(variable, `key id "${id}" appears twice.`);
      this.keys.set(id, key);
    }
    this.current = `local:${[...this.keys.keys()][0] as string}`;
  }

  currentKekId(): string {
    return this.current;
  }
  knownKekIds(): string[] {
    return [...this.keys.keys()].map((k) => `local:${k}`);
  }
  async wrap(dataKey: Buffer, aad: Buffer): Promise<{ kekId: string; wrapped: Buffer }> {
    return {
      kekId: this.current,
      wrapped: seal(this.kek(this.current), dataKey, Buffer.concat([aad, Buffer.from(`|${this.current}`)])),
    };
  }
  async unwrap(kekId: string, wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    return open(this.kek(kekId), wrapped, Buffer.concat([aad, Buffer.from(`|${kekId}`)]));
  }
  async close(): Promise<void> {
    for (const k of this.keys.values()) k.fill(0);
  }
  private kek(kekId: string): Buffer {
    const key = this.keys.get(kekId.replace(/^local:/, ''));
    if (!key)
      throw new Error(
        `master key ${kekId} is not in the keyring; add it back to PALISADE_MASTER_KEY to read data wrapped with it`,
      );
    return key;
  }
}

/**
 * Where the local master key comes from. With neither variable set, the embedded SQLite quick start
 * generates DATA_DIR/master.key (mode 0600) once and says so; PostgreSQL installations must set one.
 */
export function loadLocalKeyring(config: PalisadeConfig, log?: (msg: string) => void): LocalKeyring {
  if (config.masterKey) return new LocalKeyring(config.masterKey, 'PALISADE_MASTER_KEY');
  let file = config.masterKeyFile;
  if (!file) {
    const sqlite = /^sqlite:(.+)$/.exec(config.databaseUrl);
    if (!sqlite || sqlite[1] === ':memory:') {
      throw new KeyProviderError(
        'PALISADE_MASTER_KEY',
        'is not set. Set PALISADE_MASTER_KEY to base64 of 32 random bytes (openssl rand -base64 32), or PALISADE_MASTER_KEY_FILE to a file holding it. Keep a backup: without it, stored content cannot be read.',
      );
    }
    file = join(dirname(resolve(sqlite[1] as string)), 'master.key');
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      log?.(
        `Generated a new master key at ${file} (no PALISADE_MASTER_KEY or PALISADE_MASTER_KEY_FILE was set). Back it up: without it, encrypted workspace content cannot be read.`,
      );
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeyProviderError(
      'PALISADE_MASTER_KEY_FILE',
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
  return new LocalKeyring(text.trim(), 'PALISADE_MASTER_KEY_FILE');
}
