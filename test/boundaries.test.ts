import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/**
 * Domain folders under src/ depend one way: a two-way dependency between folders (directly or
 * through others) is a cycle, and this test fails on any. Only run-time imports count (`import
 * type` is erased), and an import of a declaration file (`audit-actions.ts`, `error-codes.ts`: data,
 * importing nothing at run time) is not a dependency on its domain. Issue 20 broke the last ones
 * (auth↔sso, http↔auth, http↔sso, audit↔crypto, jobs↔streams, lockout↔orgs, orgs↔scim,
 * gateway↔workspace, then audit↔db, crypto↔db, db↔sso, audit↔orgs, domains↔orgs, email↔orgs,
 * domains↔lockout and lockout↔sso); where a new import would close a loop, move the shared piece
 * down (or the operation up) instead of recording an exception.
 */
const src = fileURLToPath(new URL('../src', import.meta.url));
const DECLARATIONS = /\/(audit-actions|error-codes)\.ts$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const folderOf = (file: string): string | undefined => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0] : undefined;
};

export function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files(src)) {
    const from = folderOf(file);
    if (!from) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
      if (m[1]) continue;
      const target = resolve(dirname(file), (m[2] as string).replace(/\.js$/, '.ts'));
      if (DECLARATIONS.test(target)) continue;
      const to = folderOf(target);
      if (!to || to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)?.add(to);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan). */
export function cycles(graph: Map<string, Set<string>>): string[] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort().join(' ↔ '));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out.sort();
}

test('no import cycle between domain folders under src/', () => {
  const graph = folderGraph();
  const twoWay = [...graph]
    .flatMap(([a, to]) => [...to].filter((b) => a < b && graph.get(b)?.has(a)).map((b) => `${a} ↔ ${b}`))
    .sort();
  assert.deepEqual(twoWay, [], 'a two-way import between folders');
  assert.deepEqual(cycles(graph), [], 'a cycle between folders');
});

test('the cycle finder reports a loop through several folders, and nothing for a one-way chain', () => {
  const graph = (edges: [string, string][]) => {
    const g = new Map<string, Set<string>>();
    for (const [a, b] of edges) g.set(a, (g.get(a) ?? new Set()).add(b));
    return g;
  };
  assert.deepEqual(
    cycles(
      graph([
        ['sso', 'lockout'],
        ['lockout', 'domains'],
        ['domains', 'sso'],
        ['audit', 'db'],
      ]),
    ),
    ['domains ↔ lockout ↔ sso'],
  );
  assert.deepEqual(
    cycles(
      graph([
        ['sso', 'lockout'],
        ['lockout', 'audit'],
        ['audit', 'db'],
      ]),
    ),
    [],
  );
});

/**
 * Migrations are history: one that imported live domain code would change what it does when that
 * code changes (and run it against an older schema). A migration copies what it needs; the only
 * code outside src/db/ it may run is the key management of src/crypto/ (0010 seals SSO secrets
 * with the KEK provider and the organizations' data keys, whose format every release keeps).
 */
test('migrations import no domain code at run time', () => {
  const dir = join(src, 'db', 'migrations');
  const allowed = /^(db\/|crypto\/(provider|data-keys|aead)\.ts$)/;
  const offenders = files(dir).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)]
      .filter((m) => !m[1])
      .map((m) => relative(src, resolve(dirname(file), (m[2] as string).replace(/\.js$/, '.ts'))))
      .filter((target) => !allowed.test(target))
      .map((target) => `${relative(src, file)} → ${target}`),
  );
  assert.deepEqual(offenders, []);
});

/**
 * The composition roots at the top of src/ (app.ts builds the app from every domain's routes;
 * cli.ts, serve.ts and scheduled-jobs.ts start it) import the domains, never the other way round.
 * A domain module importing one of them closes a loop through every route module: whichever module
 * is imported first then meets the others half-initialized (a test importing src/streams/streams.ts
 * first found `AuditStreamView` "before initialization" when formats.ts imported VERSION from app.ts).
 */
test('no domain module imports a composition root (app, cli, serve, scheduled-jobs)', () => {
  const ROOTS = /from '\.\.\/(app|cli|serve|scheduled-jobs)\.js'/;
  const offenders = files(src)
    .filter((f) => folderOf(f) !== undefined)
    .filter((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .some((line) => ROOTS.test(line) && !/^\s*import type /.test(line)),
    )
    .map((f) => relative(src, f));
  assert.deepEqual(offenders, []);
});
