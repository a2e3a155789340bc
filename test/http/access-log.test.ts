import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import type { PalisadeConfig } from '../../src/config.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * The access log (src/http/access-log.ts): one line per request at info, written with the response, carrying
 * the request id, method, path without its query, status and duration; the arrival is logged apart
 * only at debug and below.
 */
describe('access log', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  async function logged(level: PalisadeConfig['logLevel']): Promise<Record<string, unknown>[]> {
    const lines: string[] = [];
    const logStream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const app = await buildApp({
      database: t.db.database,
      config: { ...t.config, logLevel: level },
      clock: t.clock,
      logStream,
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/orgs?code=one-time-secret' });
      assert.equal(res.statusCode, 401);
    } finally {
      await app.close();
    }
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  test('info: one line per request, with the request id, method, path without query, status and duration', async () => {
    const entries = (await logged('info')).filter((e) => e.req !== undefined || e.res !== undefined);
    assert.equal(entries.length, 1, JSON.stringify(entries));
    const [line] = entries as [Record<string, unknown>];
    assert.equal(line.msg, 'request completed');
    assert.match(String(line.reqId), /^req_/);
    assert.deepEqual(
      { method: (line.req as { method: string }).method, url: (line.req as { url: string }).url },
      { method: 'GET', url: '/api/v1/orgs' },
    );
    assert.equal((line.res as { statusCode: number }).statusCode, 401);
    assert.equal(typeof line.responseTime, 'number');
    assert.doesNotMatch(JSON.stringify(line), /one-time-secret/);
  });

  test('debug: the arrival is logged too', async () => {
    const messages = (await logged('debug')).map((e) => e.msg);
    assert.ok(messages.includes('incoming request'));
    assert.ok(messages.includes('request completed'));
  });
});
