import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  test('defaults give an embedded SQLite server on loopback', () => {
    const c = loadConfig({});
    assert.equal(c.databaseUrl, 'sqlite:./data/palisade.db');
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(c.orgCreation, 'cli_only');
  });

  test('a bad value names the variable and what it accepts', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ PALISADE_PORT: 'eighty' }, 'PALISADE_PORT', /whole number.*0 to 65535/],
      [{ PALISADE_PORT: '70000' }, 'PALISADE_PORT', /out of range/],
      [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /sqlite:.*postgres:/],
      [{ PALISADE_LOG_LEVEL: 'loud' }, 'PALISADE_LOG_LEVEL', /one of: fatal, error/],
      [{ PALISADE_TRUST_PROXY: 'maybe' }, 'PALISADE_TRUST_PROXY', /true or false/],
      [{ PALISADE_PUBLIC_URL: 'ftp://x' }, 'PALISADE_PUBLIC_URL', /http/],
      [{ PALISADE_ORG_CREATION: 'everyone' }, 'PALISADE_ORG_CREATION', /cli_only, any_user/],
    ];
    for (const [env, variable, message] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.variable === variable &&
          message.test(err.message) &&
          err.message.includes(variable),
      );
    }
  });

  test('a config file seeds values; the environment wins; unknown keys are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-config-'));
    const file = join(dir, 'palisade.json');
    writeFileSync(file, JSON.stringify({ PALISADE_PORT: 9000, PALISADE_HOST: '0.0.0.0' }));
    const c = loadConfig({ PALISADE_CONFIG_FILE: file, PALISADE_HOST: '127.0.0.2' });
    assert.equal(c.port, 9000);
    assert.equal(c.host, '127.0.0.2');
    writeFileSync(file, JSON.stringify({ PALISADE_PROT: 9000 }));
    assert.throws(() => loadConfig({ PALISADE_CONFIG_FILE: file }), /unknown setting PALISADE_PROT/);
    writeFileSync(file, '{not json');
    assert.throws(() => loadConfig({ PALISADE_CONFIG_FILE: file }), /cannot read .* as JSON/);
  });
});
