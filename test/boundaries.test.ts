import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/**
 * Domain folders under src/ depend one way: a two-way dependency between folders (directly or
 * through others) is a cycle, and this test fails on any cycle not in KNOWN_CYCLES (debts being
 * paid off, issue 20). Only run-time imports count (`import type` is erased), and an import of a
 * declaration file (`audit-actions.ts`, `error-codes.ts`: data, importing nothing at run time) is
 * not a dependency on its domain.
 */
const src = fileURLToPath(new URL('../src', import.meta.url));
const DECLARATIONS = /\/(audit-actions|error-codes)\.ts$/;

/**
 * Today's cycles (strongly connected folders) and two-way imports, recorded so that none is added
 * and each one broken is struck off: both lists only shrink (issue 20 broke auth↔sso, http↔auth,
 * http↔sso, audit↔crypto, jobs↔streams, lockout↔orgs, orgs↔scim and
 * gateway↔workspace).
 */
const KNOWN_CYCLES = new Set<string>([
  'auth ↔ domains ↔ lockout ↔ scim ↔ sso',
]);
const KNOWN_TWO_WAY = new Set<string>([
  'domains ↔ lockout',
  'lockout ↔ sso',
]);

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

test('no new import cycle between domain folders under src/', () => {
  const graph = folderGraph();
  const found = cycles(graph);
  const twoWay = [...graph]
    .flatMap(([a, to]) => [...to].filter((b) => a < b && graph.get(b)?.has(a)).map((b) => `${a} ↔ ${b}`))
    .sort();
  assert.deepEqual(
    twoWay.filter((c) => !KNOWN_TWO_WAY.has(c)),
    [],
    'a new two-way import between folders',
  );
  assert.deepEqual(
    [...KNOWN_TWO_WAY].filter((c) => !twoWay.includes(c)),
    [],
    'a two-way import is gone: remove it from KNOWN_TWO_WAY',
  );
  assert.deepEqual(
    found.filter((c) => !KNOWN_CYCLES.has(c)),
    [],
    'a new cycle between folders (or a known one grew)',
  );
  assert.deepEqual(
    [...KNOWN_CYCLES].filter((c) => !found.includes(c)),
    [],
    'a known cycle is gone: remove it from KNOWN_CYCLES',
  );
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
