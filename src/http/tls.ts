import { readFileSync } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import type { PalisadeConfig } from '../config.js';
import { ConfigError } from '../config.js';

/**
 * HTTPS without a reverse proxy: the certificate and key from PALISADE_TLS_CERT_FILE and
 * PALISADE_TLS_KEY_FILE, TLS 1.2 or later only. `reloadTls` swaps them in place (SIGHUP): new
 * connections get the new certificate, connections already open go on undisturbed.
 */
export function tlsOptions(config: Pick<PalisadeConfig, 'tlsCertFile' | 'tlsKeyFile'>): ServerOptions | undefined {
  if (!config.tlsCertFile) return undefined;
  return { ...readPair(config), minVersion: 'TLSv1.2' };
}

function readPair(config: Pick<PalisadeConfig, 'tlsCertFile' | 'tlsKeyFile'>): { cert: Buffer; key: Buffer } {
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(variable, `cannot read ${path} (${(err as Error).message}).`);
    }
  };
  return {
    cert: read('PALISADE_TLS_CERT_FILE', config.tlsCertFile),
    key: read('PALISADE_TLS_KEY_FILE', config.tlsKeyFile),
  };
}

export function reloadTls(server: HttpsServer, config: Pick<PalisadeConfig, 'tlsCertFile' | 'tlsKeyFile'>): void {
  // Throws (keeping the current certificate) when a file is unreadable or the pair does not match.
  server.setSecureContext({ ...readPair(config), minVersion: 'TLSv1.2' });
}
