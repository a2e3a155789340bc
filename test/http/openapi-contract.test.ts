import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

type Op = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: { in: string; name: string }[];
  responses?: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }>;
};

describe('the HTTP contract (/openapi.json)', () => {
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, Op>>; components?: { schemas?: Record<string, unknown> } };
  let ops: { key: string; path: string; op: Op }[];
  before(async () => {
    t = await createTestApp();
    await t.app.ready();
    doc = t.app.swagger() as typeof doc;
    ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, op })),
    );
  });
  after(() => t.close());

  test('every operation has a unique operationId, a summary and a tag', () => {
    assert.ok(ops.length > 150, `${ops.length} operations`);
    const ids = ops.map((o) => o.op.operationId);
    assert.deepEqual(
      ops.filter((o) => !o.op.operationId).map((o) => o.key),
      [],
    );
    assert.deepEqual(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      [],
      'duplicate operationIds',
    );
    assert.deepEqual(
      ops.filter((o) => !o.op.summary || !o.op.tags?.length).map((o) => o.key),
      [],
    );
  });

  test('every operationId is chosen, not derived from the path (camelCase, a verb first, no path spelled out)', () => {
    // Generated clients and the console's queries are named after operationIds: `listMembers`, not
    // `getOrgsMembers`. Nothing derives one any more, so a route without its own has none and fails
    // above; this catches a hand-written one that copies the path.
    assert.deepEqual(
      ops.filter((o) => !/^[a-z][a-zA-Z0-9]*$/.test(o.op.operationId ?? '')).map((o) => o.key),
      [],
      'operationIds are camelCase',
    );
    assert.deepEqual(
      ops
        .filter((o) =>
          /^(get|post|put|patch|delete)(Orgs|Me[A-Z]|Auth[A-Z])|By[A-Z]\w*Id$/.test(o.op.operationId ?? ''),
        )
        .map((o) => o.key),
      [],
      'operationIds that spell out the path (getOrgsMembers, …ByStreamId)',
    );
  });

  test('every path parameter is declared', () => {
    const missing = ops.flatMap((o) =>
      [...o.path.matchAll(/\{(\w+)\}/g)]
        .map((m) => m[1] as string)
        .filter((name) => !o.op.parameters?.some((p) => p.in === 'path' && p.name === name))
        .map((name) => `${o.key}: ${name}`),
    );
    assert.deepEqual(missing, []);
  });

  test('every operation declares its success response with a schema', () => {
    // The console and every generated client type their calls from these; a response schema also
    // keeps undeclared fields from leaking. A 204 has no body and a redirect names its Location.
    const gaps = ops
      .filter(
        (o) =>
          !Object.entries(o.op.responses ?? {}).some(
            ([status, r]) =>
              /^[23]/.test(status) &&
              (status === '204' ||
                status === '304' ||
                (/^30[12378]$/.test(status) && r.headers?.location !== undefined) ||
                Object.values(r.content ?? {}).some((c) => c.schema !== undefined)),
          ),
      )
      .map((o) => o.key);
    assert.deepEqual(gaps, [], 'operations without a success response schema');
  });

  test('shared schemas are named components (no def-0) and every $ref resolves', () => {
    const names = Object.keys(doc.components?.schemas ?? {});
    assert.deepEqual(
      names.filter((n) => /^def-\d+$/.test(n)),
      [],
    );
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    assert.deepEqual(
      [...new Set(refs)].filter((r) => !names.includes(r)),
      [],
    );
  });

  test('SCIM endpoints are documented', () => {
    const scim = ops.filter((o) => o.path.startsWith('/scim/v2/'));
    assert.ok(scim.length >= 15, `${scim.length} SCIM operations`);
    assert.ok(scim.every((o) => o.op.tags?.includes('SCIM 2.0')));
  });

  test('redocly lint finds no error in the document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const run = await promisify(execFile)(
        join(root, 'node_modules/.bin/redocly'),
        ['lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'summary'],
        { cwd: root, timeout: 120_000 },
      ).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({
          code: err.code ?? 1,
          out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
        }),
      );
      assert.equal(run.code, 0, run.out);
      assert.doesNotMatch(run.out, /^error\s/m, run.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
