import { type ScimError, scimBad } from './errors.js';
import { type AttrDef, type SchemaSet, findAttr, findExtension } from './schemas.js';

/**
 * SCIM filter and path parser (RFC 7644 §3.4.2.2, §3.5.2) and an evaluator over JSON resources.
 * Written here because the libraries evaluated (scim2-parse-filter 0.2.10, scim-patch 0.8.3) turn
 * `emails[type eq "work"].value co "x"` into two independent conditions (wrong result) and match
 * attribute names case-sensitively. Any input parses or throws a 400 `invalidFilter`.
 */

export interface AttrPath {
  /** Schema URN when the path was fully qualified (`urn:…:User:department`). */
  schema?: string;
  attr: string;
  sub?: string;
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal = string | number | boolean | null;

export type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: Literal }
  | { op: 'valuePath'; path: AttrPath; filter: Filter; then?: { sub: string; test: Filter } };

export interface PatchPath {
  path: AttrPath;
  filter?: Filter;
  /** Sub-attribute after a value filter: `emails[type eq "work"].value`. */
  sub?: string;
}

const COMPARE = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const MAX_LENGTH = 4096;
const MAX_DEPTH = 32;

type Tok =
  | { t: '(' | ')' | '[' | ']' | 'eof'; at: number }
  | { t: 'word'; v: string; at: number }
  | { t: 'string'; v: string; at: number }
  | { t: 'number'; v: number; at: number }
  | { t: 'dot'; v: string; at: number };

const invalid = (msg: string, kind: 'filter' | 'path'): ScimError =>
  kind === 'filter'
    ? scimBad(
        'invalidFilter',
        'invalid_filter',
        `The filter is not valid SCIM filter syntax: ${msg}. Example of a valid filter: userName eq "jdoe@example.com".`,
      )
    : scimBad(
        'invalidPath',
        'invalid_path',
        `The PATCH path is not valid: ${msg}. Examples: "active", "name.givenName", "emails[type eq \\"work\\"].value", "members[value eq \\"<id>\\"]".`,
      );

function tokenize(src: string, kind: 'filter' | 'path'): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']') {
      out.push({ t: c, at: i });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw invalid(`unterminated string starting at position ${i + 1}`, kind);
      let v: unknown;
      try {
        v = JSON.parse(src.slice(i, j + 1));
      } catch {
        throw invalid(`bad escape in the string at position ${i + 1}`, kind);
      }
      out.push({ t: 'string', v: v as string, at: i });
      i = j + 1;
      continue;
    }
    if (c === '.' && out.length && out[out.length - 1]?.t === ']') {
      const m = /^\.([A-Za-z$][\w$-]*)/.exec(src.slice(i));
      if (!m) throw invalid(`expected a sub-attribute name after "]." at position ${i + 1}`, kind);
      out.push({ t: 'dot', v: m[1] as string, at: i });
      i += m[0].length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w.:])/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'number', v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z$_][\w$:.\-]*/.exec(src.slice(i));
    if (word) {
      out.push({ t: 'word', v: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw invalid(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`, kind);
  }
  out.push({ t: 'eof', at: src.length });
  return out;
}

function parseAttrPath(raw: string, kind: 'filter' | 'path'): AttrPath {
  let schema: string | undefined;
  let rest = raw;
  if (/^urn:/i.test(raw)) {
    const cut = raw.lastIndexOf(':');
    schema = raw.slice(0, cut);
    rest = raw.slice(cut + 1);
    if (!rest) throw invalid(`"${raw}" names a schema but no attribute`, kind);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z$][\w$-]*$/.test(p)))
    throw invalid(`"${raw}" is not an attribute path (attribute or attribute.subAttribute)`, kind);
  return { ...(schema ? { schema } : {}), attr: parts[0] as string, ...(parts[1] ? { sub: parts[1] } : {}) };
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly kind: 'filter' | 'path',
  ) {}
  peek(): Tok {
    return this.toks[this.i] as Tok;
  }
  next(): Tok {
    return this.toks[this.i++] as Tok;
  }
  fail(msg: string): never {
    throw invalid(msg, this.kind);
  }
  isWord(tok: Tok, w: string): boolean {
    return tok.t === 'word' && tok.v.toLowerCase() === w;
  }
  where(tok: Tok): string {
    return tok.t === 'eof' ? 'at the end' : `at position ${tok.at + 1}`;
  }

  orExpr(): Filter {
    if (++this.depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    let left = this.andExpr();
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      left = { op: 'or', left, right: this.andExpr() };
    }
    this.depth--;
    return left;
  }
  andExpr(): Filter {
    let left = this.unary();
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }
  unary(): Filter {
    const tok = this.peek();
    if (this.isWord(tok, 'not')) {
      this.next();
      if (this.peek().t !== '(') this.fail(`"not" must be followed by "(" ${this.where(this.peek())}`);
      return { op: 'not', filter: this.group() };
    }
    if (tok.t === '(') return this.group();
    return this.attrExpr();
  }
  group(): Filter {
    this.next();
    const f = this.orExpr();
    const close = this.next();
    if (close.t !== ')') this.fail(`expected ")" ${this.where(close)}`);
    return f;
  }
  attrExpr(): Filter {
    const tok = this.next();
    if (tok.t !== 'word') this.fail(`expected an attribute name ${this.where(tok)}`);
    const path = parseAttrPath(tok.v, this.kind);
    if (this.peek().t === '[') {
      if (path.sub) this.fail(`a value filter cannot follow a sub-attribute ("${tok.v}[")`);
      this.next();
      if (++this.depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
      const inner = this.orExpr();
      this.depth--;
      const close = this.next();
      if (close.t !== ']') this.fail(`expected "]" ${this.where(close)}`);
      if (this.peek().t === 'dot') {
        // `emails[type eq "work"].value co "x"`: the same element must satisfy both.
        const sub = (this.next() as { v: string }).v;
        const test = this.comparison({ attr: sub });
        return { op: 'valuePath', path, filter: inner, then: { sub, test } };
      }
      return { op: 'valuePath', path, filter: inner };
    }
    return this.comparison(path);
  }
  comparison(path: AttrPath): Filter {
    const opTok = this.next();
    if (opTok.t !== 'word') this.fail(`expected an operator (eq ne co sw ew gt ge lt le pr) ${this.where(opTok)}`);
    const op = opTok.v.toLowerCase();
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE.has(op)) this.fail(`"${opTok.v}" is not an operator; use eq, ne, co, sw, ew, gt, ge, lt, le or pr`);
    const v = this.next();
    let value: Literal;
    if (v.t === 'string' || v.t === 'number') value = v.v;
    else if (v.t === 'word' && ['true', 'false', 'null'].includes(v.v.toLowerCase()))
      value = v.v.toLowerCase() === 'null' ? null : v.v.toLowerCase() === 'true';
    else this.fail(`expected a value ("text", a number, true, false or null) ${this.where(v)}`);
    if ((op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') && (typeof value === 'boolean' || value === null))
      this.fail(`"${op}" cannot compare with ${String(value)}`);
    if ((op === 'co' || op === 'sw' || op === 'ew') && typeof value !== 'string')
      this.fail(`"${op}" needs a string value`);
    return { op: op as CompareOp, path, value };
  }
}

export function parseFilter(src: string): Filter {
  if (typeof src !== 'string' || !src.trim()) throw invalid('it is empty', 'filter');
  if (src.length > MAX_LENGTH)
    throw scimBad(
      'invalidFilter',
      'invalid_filter',
      `The filter is longer than ${MAX_LENGTH} characters; split the query.`,
    );
  const p = new Parser(tokenize(src, 'filter'), 'filter');
  const f = p.orExpr();
  const rest = p.peek();
  if (rest.t !== 'eof')
    p.fail(
      `unexpected ${rest.t === 'word' ? `"${rest.v}"` : `"${rest.t}"`} ${p.where(rest)} (join conditions with "and" or "or")`,
    );
  return f;
}

export function parsePatchPath(src: string): PatchPath {
  if (typeof src !== 'string' || !src.trim()) throw invalid('it is empty', 'path');
  if (src.length > MAX_LENGTH) throw invalid('it is too long', 'path');
  const p = new Parser(tokenize(src, 'path'), 'path');
  const first = p.next();
  if (first.t !== 'word') return p.fail(`expected an attribute name ${p.where(first)}`);
  const path = parseAttrPath(first.v, 'path');
  const out: PatchPath = { path };
  if (p.peek().t === '[') {
    if (path.sub) p.fail('a value filter cannot follow a sub-attribute');
    p.next();
    out.filter = p.orExpr();
    const close = p.next();
    if (close.t !== ']') p.fail(`expected "]" ${p.where(close)}`);
    if (p.peek().t === 'dot') out.sub = (p.next() as { v: string }).v;
  }
  const rest = p.peek();
  if (rest.t !== 'eof') p.fail(`unexpected text ${p.where(rest)}`);
  return out;
}

// ---- evaluation --------------------------------------------------------------------------------

type Json = unknown;

function getCI(obj: Json, key: string): Json {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, Json>;
  if (key in rec) return rec[key];
  const k = key.toLowerCase();
  for (const [name, v] of Object.entries(rec)) if (name.toLowerCase() === k) return v;
  return undefined;
}

/** Where an attribute path lives in a resource, and its definition when Palisade knows it. */
export function locate(
  set: SchemaSet | undefined,
  path: AttrPath,
): { container: 'core' | string; def: AttrDef | undefined } {
  if (!set) return { container: 'core', def: undefined };
  if (path.schema) {
    if (path.schema.toLowerCase() === set.core.toLowerCase())
      return { container: 'core', def: findAttr(set.attributes, path.attr) };
    const ext = findExtension(set, path.schema);
    return { container: ext ?? path.schema, def: ext ? findAttr(set.extensions[ext], path.attr) : undefined };
  }
  return { container: 'core', def: findAttr(set.attributes, path.attr) };
}

function valuesAt(
  resource: Json,
  set: SchemaSet | undefined,
  path: AttrPath,
): { values: Json[]; def: AttrDef | undefined } {
  const { container, def } = locate(set, path);
  const root = container === 'core' ? resource : getCI(resource, container);
  let v = getCI(root, path.attr);
  let d = def;
  const flat = (x: Json): Json[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
  if (path.sub) {
    d = findAttr(def?.subAttributes, path.sub);
    return { values: flat(v).flatMap((item) => flat(getCI(item, path.sub as string))), def: d };
  }
  // A complex multi-valued attribute compared directly compares its "value" sub-attribute.
  const items = flat(v).map((item) =>
    item !== null && typeof item === 'object' && !Array.isArray(item) ? getCI(item, 'value') : item,
  );
  v = undefined;
  return { values: items.filter((x) => x !== undefined), def: d };
}

function compare(op: CompareOp, actual: Json, expected: Literal, caseExact: boolean, type?: AttrDef['type']): boolean {
  // dateTime values compare as instants ("2026-01-01T01:00:00+01:00" eq "2026-01-01T00:00:00Z"), not as text.
  if (type === 'dateTime' && typeof expected === 'string' && typeof actual === 'string') {
    const a = Date.parse(actual);
    const e = Date.parse(expected);
    if (!Number.isNaN(a) && !Number.isNaN(e)) {
      switch (op) {
        case 'eq':
          return a === e;
        case 'ne':
          return a !== e;
        case 'gt':
          return a > e;
        case 'ge':
          return a >= e;
        case 'lt':
          return a < e;
        case 'le':
          return a <= e;
        default:
          break;
      }
    }
  }
  if (expected === null)
    return op === 'eq'
      ? actual === null || actual === undefined
      : op === 'ne'
        ? !(actual === null || actual === undefined)
        : false;
  if (typeof expected === 'boolean') {
    const a =
      typeof actual === 'string'
        ? actual.toLowerCase() === 'true'
          ? true
          : actual.toLowerCase() === 'false'
            ? false
            : actual
        : actual;
    return op === 'eq' ? a === expected : op === 'ne' ? a !== expected : false;
  }
  if (typeof expected === 'number') {
    const a =
      typeof actual === 'number' ? actual : typeof actual === 'string' && actual.trim() !== '' ? Number(actual) : NaN;
    if (Number.isNaN(a)) return op === 'ne';
    switch (op) {
      case 'eq':
        return a === expected;
      case 'ne':
        return a !== expected;
      case 'gt':
        return a > expected;
      case 'ge':
        return a >= expected;
      case 'lt':
        return a < expected;
      case 'le':
        return a <= expected;
      default:
        return false;
    }
  }
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return op === 'ne';
  let a = String(actual);
  let e = expected;
  if (!caseExact) {
    a = a.toLowerCase();
    e = e.toLowerCase();
  }
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return a.includes(e);
    case 'sw':
      return a.startsWith(e);
    case 'ew':
      return a.endsWith(e);
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
  }
}

/** Does a resource (or a complex value inside one, with `set` undefined) satisfy the filter? */
export function matches(filter: Filter, resource: Json, set: SchemaSet | undefined): boolean {
  switch (filter.op) {
    case 'and':
      return matches(filter.left, resource, set) && matches(filter.right, resource, set);
    case 'or':
      return matches(filter.left, resource, set) || matches(filter.right, resource, set);
    case 'not':
      return !matches(filter.filter, resource, set);
    case 'pr': {
      const { values } = valuesAt(resource, set, filter.path);
      return values.some(
        (v) => v !== null && v !== '' && !(typeof v === 'object' && Object.keys(v as object).length === 0),
      );
    }
    case 'valuePath': {
      const { container } = locate(set, filter.path);
      const root = container === 'core' ? resource : getCI(resource, container);
      const raw = getCI(root, filter.path.attr);
      const items = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
      return items.some(
        (item) =>
          matches(filter.filter, item, undefined) && (!filter.then || matches(filter.then.test, item, undefined)),
      );
    }
    default: {
      const { values, def } = valuesAt(resource, set, filter.path);
      const caseExact = def?.caseExact ?? false;
      if (values.length === 0)
        return filter.op === 'ne' ? filter.value !== null : filter.value === null && filter.op === 'eq';
      if (filter.op === 'ne') return values.every((v) => compare('ne', v, filter.value, caseExact, def?.type));
      return values.some((v) => compare(filter.op as CompareOp, v, filter.value, caseExact, def?.type));
    }
  }
}

/**
 * Equality conditions that must hold for any match (the AND-spine of the filter): used to narrow
 * the candidate rows with an indexed query before evaluating the whole filter.
 */
export function requiredEqualities(filter: Filter): { path: AttrPath; value: string }[] {
  if (filter.op === 'and') return [...requiredEqualities(filter.left), ...requiredEqualities(filter.right)];
  if (filter.op === 'eq' && typeof filter.value === 'string' && !filter.path.sub)
    return [{ path: filter.path, value: filter.value }];
  return [];
}
