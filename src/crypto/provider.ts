import type { PalisadeConfig } from '../config.js';
import type { KekProvider } from './kek.js';
import { loadLocalKeyring } from './local-keyring.js';
import { Pkcs11Kek } from './pkcs11.js';

/**
 * One KEK provider per configuration object (the app, its jobs and its operations share the
 * config they were built with). Built at start-up by `initKeyProvider` so a missing or malformed
 * key stops the server with a message naming the variable; built lazily for CLI commands.
 */
const providers = new WeakMap<PalisadeConfig, KekProvider>();

export function initKeyProvider(config: PalisadeConfig, log?: (msg: string) => void): KekProvider {
  const existing = providers.get(config);
  if (existing) return existing;
  const provider: KekProvider =
    config.kekProvider === 'pkcs11'
      ? new Pkcs11Kek({
          module: config.pkcs11Module,
          tokenLabel: config.pkcs11TokenLabel,
          pin: config.pkcs11Pin,
          keyLabels: config.pkcs11KeyLabel
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        })
      : loadLocalKeyring(config, log);
  providers.set(config, provider);
  return provider;
}

export function keyProviderFor(config: PalisadeConfig): KekProvider {
  return providers.get(config) ?? initKeyProvider(config);
}

/** Replaces the provider (key rotation in tests and after an operator changes the keyring). */
export async function replaceKeyProvider(config: PalisadeConfig, provider: KekProvider): Promise<void> {
  const old = providers.get(config);
  providers.set(config, provider);
  if (old && old !== provider) await old.close();
}

export async function closeKeyProvider(config: PalisadeConfig): Promise<void> {
  const p = providers.get(config);
  providers.delete(config);
  await p?.close();
}
