import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  canonicalJson,
  canonicalJsonFast,
  chainHash,
  hashedContentFromParts,
  hashedContentGeneric,
} from '../../src/audit/event.js';

const strings = [
  '',
  'plain',
  'ünïcødé',
  '😀 emoji',
  'quote " and \\ backslash',
  'line\nbreak\ttab',
  '\u0000\u001f control',
  '\u2028\u2029',
  '<script>',
  randomBytes(12).toString('latin1'),
];
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const maybe = (s: string) => (Math.random() < 0.3 ? null : s);

describe('canonical event bytes', () => {
  test('the fast write-path form equals RFC 8785 canonical JSON for any event', () => {
    for (let i = 0; i < 2000; i++) {
      const e = {
        id: `evt_${pick(strings)}`,
        orgId: pick(strings),
        seq: Math.floor(Math.random() * 2 ** 40),
        occurredAt: new Date(Math.floor(Math.random() * 2e12)).toISOString(),
        actor: {
          type: pick(['user', 'system', 'anonymous', 'api_token'] as const),
          id: maybe(pick(strings)),
          email: maybe(pick(strings)),
          ip: maybe(pick(strings)),
          userAgent: maybe(pick(strings)),
        },
        action: pick(['member.role_changed', 'a.b', pick(strings)]),
        targets: Array.from({ length: Math.floor(Math.random() * 3) }, () => ({
          type: pick(strings),
          id: pick(strings),
          ...(Math.random() < 0.5 ? { name: pick(strings) } : {}),
        })),
        outcome: pick(['success', 'failure', 'denied'] as const),
        metadata: {
          [pick(strings)]: pick(strings),
          n: Math.random() * 1e6,
          nested: { z: [1, 'two', null, true], a: { b: pick(strings) } },
          ...(Math.random() < 0.5 ? { é: 1, e: 2, E: 3 } : {}),
        },
        requestId: maybe(pick(strings)),
      };
      assert.equal(
        hashedContentFromParts(e, canonicalJson(e.targets), canonicalJson(e.metadata)),
        hashedContentGeneric(e),
      );
    }
  });

  test('the fast canonicalizer equals the RFC 8785 reference on any JSON value, and falls back on the odd ones', () => {
    const value = (d: number): unknown => {
      const r = Math.random();
      if (d > 3 || r < 0.3)
        return pick<unknown>([
          null,
          true,
          false,
          0,
          -0,
          1e21,
          1e-7,
          123.456,
          -5,
          2 ** 53,
          pick(strings),
          '\ud800x'.slice(1),
        ]);
      if (r < 0.6) return Array.from({ length: Math.floor(Math.random() * 4) }, () => value(d + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(Math.random() * 5) }, () => [
          pick([...strings, 'a', 'B', 'é', '😀', '\u00ff']),
          value(d + 1),
        ]),
      );
    };
    for (let i = 0; i < 3000; i++) {
      const v = value(0);
      assert.equal(canonicalJsonFast(v), canonicalJson(v));
    }
    assert.equal(canonicalJsonFast({ b: undefined, a: new Date(0) }), canonicalJson({ b: undefined, a: new Date(0) }));
    assert.throws(() => canonicalJsonFast({ n: Number.NaN }));
    assert.throws(() => canonicalJsonFast({ s: '\ud800' }));
    assert.equal(
      chainHash('0'.repeat(64), '{"a":1}'),
      createHash('sha256').update('0'.repeat(64)).update('\n').update('{"a":1}').digest('hex'),
    );
  });
});
