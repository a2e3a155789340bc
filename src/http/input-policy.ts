import type { CodeWithStatus } from '../error-catalog.js';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';

/**
 * Text and shapes Palisade refuses wherever they arrive (path parameters, query strings, JSON
 * bodies, object keys included), before any handler, store or hash sees them:
 *
 * - a lone UTF-16 surrogate (`"\ud800"` in JSON): it is not Unicode text, cannot be encoded as
 *   UTF-8, and made the audit log's canonical JSON throw;
 * - the NUL character: PostgreSQL text cannot hold it (SQLite can), so the same request must not
 *   succeed on one engine and fail on the other;
 * - JSON nested deeper than MAX_JSON_DEPTH: nothing Palisade accepts is deeper, and recursive code
 *   downstream must never meet a value that could exhaust the stack;
 * - the keys `__proto__`, and `constructor` holding `prototype`: harmless as parsed data, but one
 *   careless merge away from prototype pollution, and never a field of any Palisade document.
 *
 * The walk is iterative, so the check itself cannot overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

export type TextProblem = 'lone_surrogate' | 'nul' | 'too_deep' | 'prototype_key';

export interface BadInput {
  problem: TextProblem;
  /** Dotted path to the value (`members.3.value`), or to the key for a bad key. */
  field: string;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s);

function textProblem(s: string): TextProblem | undefined {
  if (s.includes('\u0000')) return 'nul';
  if (hasLoneSurrogate(s)) return 'lone_surrogate';
  return undefined;
}

/** Printable path: keys are shown safely even when they are the problem. */
const show = (key: string) =>
  key
    .replace(/[\uD800-\uDFFF]/g, '\uFFFD')
    .replace(/\u0000/g, '\\u0000')
    .slice(0, 60);

export function findBadInput(value: unknown, maxDepth = MAX_JSON_DEPTH): BadInput | undefined {
  const stack: [unknown, string, number][] = [[value, '', 0]];
  while (stack.length) {
    const [v, path, depth] = stack.pop() as [unknown, string, number];
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) return { problem: p, field: path };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { problem: 'too_deep', field: path };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path ? `${path}.${i}` : String(i), depth + 1]);
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const at = path ? `${path}.${show(k)}` : show(k);
      const p = textProblem(k);
      if (p) return { problem: p, field: at };
      if (
        k === '__proto__' ||
        (k === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))
      )
        return { problem: 'prototype_key', field: at };
      stack.push([child, at, depth + 1]);
    }
  }
  return undefined;
}

const WHAT: Record<TextProblem, string> = {
  lone_surrogate:
    'contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape), which is not valid Unicode text; send well-formed UTF-8 text',
  nul: 'contains the NUL character (\\u0000), which Palisade does not accept in text; remove it',
  too_deep: `nests values more than ${MAX_JSON_DEPTH} levels deep; send a flatter document`,
  prototype_key:
    'is a key Palisade refuses ("__proto__", or "constructor" with "prototype"), and no Palisade document has such a field; remove it',
};

const CODE: Record<TextProblem, CodeWithStatus<400>> = {
  lone_surrogate: 'invalid_text',
  nul: 'invalid_text',
  too_deep: 'too_deep',
  prototype_key: 'forbidden_key',
};

export function badInputError(location: 'body' | 'query' | 'params', bad: BadInput): PalisadeError {
  const where = bad.field ? `${location}.${bad.field}` : location;
  return new PalisadeError(400, CODE[bad.problem], `Invalid ${where}: it ${WHAT[bad.problem]}.`, {
    details: { location, field: bad.field || null, problem: bad.problem },
  });
}

function check(location: 'query' | 'params', value: unknown): void {
  const bad = findBadInput(value);
  if (bad) throw badInputError(location, bad);
}

/**
 * Installs the checks on the root instance, so every route and every encapsulated plugin (the SCIM
 * protocol renders the same refusal as a SCIM `invalidValue`) inherits them. Path parameters and the
 * query string are checked as the request arrives (after the caller is identified from headers, which
 * cannot carry such text), before any plugin's own hooks look anything up; the body once it is parsed.
 */
export function installInputPolicy(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    check('params', request.params);
    check('query', request.query);
  });
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null || Buffer.isBuffer(request.body)) return;
    const bad = findBadInput(request.body);
    if (bad) throw badInputError('body', bad);
  });
}
