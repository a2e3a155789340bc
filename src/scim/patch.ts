import { scimBad } from './errors.js';
import { type Filter, locate, matches, parsePatchPath } from './filter.js';
import { type Json, type JsonObject, assertDepth, canonicalResource, isObj } from './resource.js';
import {
  type AttrDef,
  MAX_PATCH_OPERATIONS,
  type ResourceKind,
  SCHEMA_SETS,
  findAttr,
  findExtension,
  schemaUrnOf,
} from './schemas.js';

/**
 * PATCH (RFC 7644 §3.5.2), plus what Entra and Okta send: operations applied to a canonical
 * resource, which comes out canonical again (./resource.ts).
 */
export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string | undefined;
  value: Json | undefined;
}

/** Reads the PatchOp message; tolerates Entra's capitalised op names ("Replace"). */
export function readPatchOps(body: unknown): PatchOp[] {
  if (!isObj(body))
    throw scimBad(
      'invalidSyntax',
      'invalid_patch',
      'A PATCH body must be a JSON object with "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"] and "Operations": [...].',
    );
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey ? body[opsKey] : undefined;
  if (!Array.isArray(ops) || ops.length === 0)
    throw scimBad('invalidSyntax', 'invalid_patch', 'The PATCH body needs a non-empty "Operations" array.');
  if (ops.length > MAX_PATCH_OPERATIONS)
    throw scimBad(
      'tooMany',
      'too_many_operations',
      `A PATCH may carry at most ${MAX_PATCH_OPERATIONS} operations; split it.`,
    );
  return ops.map((raw, i) => {
    if (!isObj(raw)) throw scimBad('invalidSyntax', 'invalid_patch', `Operation ${i + 1} is not an object.`);
    const get = (k: string) => {
      const key = Object.keys(raw).find((n) => n.toLowerCase() === k);
      return key === undefined ? undefined : raw[key];
    };
    const op = get('op');
    const kind = typeof op === 'string' ? op.trim().toLowerCase() : '';
    if (kind !== 'add' && kind !== 'remove' && kind !== 'replace')
      throw scimBad(
        'invalidSyntax',
        'invalid_patch_op',
        `Operation ${i + 1} has op ${JSON.stringify(op ?? null).slice(0, 40)}; use "add", "remove" or "replace".`,
      );
    const path = get('path');
    if (path !== undefined && path !== null && typeof path !== 'string')
      throw scimBad('invalidPath', 'invalid_path', `Operation ${i + 1} has a path that is not a string.`);
    const value = get('value') as Json | undefined;
    assertDepth(value);
    if (kind === 'remove' && (path === undefined || path === null || path === ''))
      throw scimBad(
        'noTarget',
        'missing_path',
        `Operation ${i + 1} is a "remove" without a path; say which attribute to remove.`,
      );
    if (kind !== 'remove' && value === undefined)
      throw scimBad('invalidValue', 'missing_value', `Operation ${i + 1} ("${kind}") has no value.`);
    return { op: kind, path: typeof path === 'string' && path !== '' ? path : undefined, value };
  });
}

const READ_ONLY: Record<ResourceKind, Set<string>> = {
  User: new Set(['id', 'meta', 'groups']),
  Group: new Set(['id', 'meta']),
};

function sameItem(a: Json, b: Json): boolean {
  if (isObj(a) && isObj(b) && a.value !== undefined && b.value !== undefined)
    return String(a.value) === String(b.value);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Builds the element an equality filter describes: `emails[type eq "work"]` → {type: "work"}. */
function itemFromFilter(filter: Filter): JsonObject | undefined {
  if (filter.op === 'eq' && !filter.path.sub) return { [filter.path.attr]: filter.value };
  if (filter.op === 'and') {
    const l = itemFromFilter(filter.left);
    const r = itemFromFilter(filter.right);
    return l && r ? { ...l, ...r } : undefined;
  }
  return undefined;
}

function applyOne(
  kind: ResourceKind,
  res: JsonObject,
  op: PatchOp['op'],
  rawPath: string,
  value: Json | undefined,
): void {
  const set = SCHEMA_SETS[kind];
  const p = parsePatchPath(rawPath);
  const { container, def } = locate(set, p.path);
  if (container === 'core' && def && READ_ONLY[kind].has(def.name))
    throw scimBad('mutability', 'read_only_attribute', `"${def.name}" is read-only and cannot be changed with PATCH.`);
  if (set.readOnlyExtensions.has(container))
    throw scimBad(
      'mutability',
      'read_only_attribute',
      `"${container}" is computed by Palisade and read-only; it cannot be changed with PATCH.`,
    );
  let root: JsonObject;
  if (container === 'core') root = res;
  else {
    const existing = res[container];
    if (!isObj(existing)) {
      if (op === 'remove') return;
      res[container] = {};
    }
    root = res[container] as JsonObject;
  }
  const attrKey =
    Object.keys(root).find((k) => k.toLowerCase() === p.path.attr.toLowerCase()) ?? def?.name ?? p.path.attr;
  const current = root[attrKey];
  const multi = def?.multiValued ?? Array.isArray(current);

  if (p.filter) {
    const items: Json[] = Array.isArray(current)
      ? [...current]
      : current === undefined || current === null
        ? []
        : [current];
    const hits = items.map((item) => matches(p.filter as Filter, item, undefined));
    if (!hits.some(Boolean)) {
      if (op === 'remove') return; // removing what is not there is already done
      const seed = itemFromFilter(p.filter);
      if (!seed)
        throw scimBad('noTarget', 'no_target', `No value of "${p.path.attr}" matches the filter in "${rawPath}".`);
      const item: Json = p.sub ? { ...seed, [p.sub]: value as Json } : isObj(value) ? { ...seed, ...value } : seed;
      root[attrKey] = [...items, item];
      return;
    }
    const next: Json[] = [];
    items.forEach((item, i) => {
      if (!hits[i]) return void next.push(item);
      if (op === 'remove') {
        if (p.sub && isObj(item)) {
          const copy = { ...item };
          const sk = Object.keys(copy).find((k) => k.toLowerCase() === (p.sub as string).toLowerCase());
          if (sk) delete copy[sk];
          next.push(copy);
        }
        return;
      }
      if (p.sub) {
        const copy: JsonObject = isObj(item) ? { ...item } : { value: item };
        const sk = Object.keys(copy).find((k) => k.toLowerCase() === (p.sub as string).toLowerCase()) ?? p.sub;
        copy[sk] = value as Json;
        next.push(copy);
      } else next.push(isObj(item) && isObj(value) ? { ...item, ...value } : (value as Json));
    });
    root[attrKey] = next;
    return;
  }

  if (p.path.sub) {
    if (multi) {
      const items = Array.isArray(current) ? current : [];
      root[attrKey] = items.map((item) => {
        const copy: JsonObject = isObj(item) ? { ...item } : {};
        if (op === 'remove') delete copy[p.path.sub as string];
        else copy[p.path.sub as string] = value as Json;
        return copy;
      });
      return;
    }
    const obj: JsonObject = isObj(current) ? { ...current } : {};
    const sk =
      Object.keys(obj).find((k) => k.toLowerCase() === (p.path.sub as string).toLowerCase()) ??
      findAttr(def?.subAttributes, p.path.sub)?.name ??
      p.path.sub;
    if (op === 'remove') delete obj[sk];
    else obj[sk] = value as Json;
    root[attrKey] = obj;
    return;
  }

  if (op === 'remove') {
    // Entra removes members by sending them as the value of a path-less-filter remove.
    if (multi && value !== undefined && value !== null) {
      const drop = Array.isArray(value) ? value : [value];
      root[attrKey] = (Array.isArray(current) ? current : []).filter((item) => !drop.some((d) => sameItem(item, d)));
    } else delete root[attrKey];
    return;
  }
  if (multi) {
    const incoming = value === null ? [] : Array.isArray(value) ? value : [value as Json];
    if (op === 'replace') root[attrKey] = incoming;
    else {
      const list = Array.isArray(current) ? [...current] : [];
      for (const v of incoming) {
        const at = list.findIndex((x) => sameItem(x, v));
        if (at >= 0) list[at] = isObj(list[at]) && isObj(v) ? { ...(list[at] as JsonObject), ...v } : v;
        else list.push(v);
      }
      root[attrKey] = list;
    }
    return;
  }
  // Complex single-valued attributes merge (RFC 7644 §3.5.2.1/.3); simple ones are set.
  if ((def?.type === 'complex' || isObj(current)) && isObj(value) && isObj(current))
    root[attrKey] = { ...current, ...value };
  else root[attrKey] = value as Json;
}

/** An add or replace without a path (or with a whole schema as its path): the value is an object of attributes. */
function applyAttributes(
  kind: ResourceKind,
  res: JsonObject,
  op: 'add' | 'replace',
  value: Json | undefined,
  what: string,
): void {
  const set = SCHEMA_SETS[kind];
  if (!isObj(value))
    throw scimBad(
      'invalidValue',
      'invalid_value',
      `An "${op}" ${what} needs an object value of attributes, e.g. {"active": false}.`,
    );
  for (const [key, v] of Object.entries(value)) {
    const low = key.toLowerCase();
    if (low === 'schemas' || low === 'id' || low === 'meta') continue;
    // A schema URN with an object value is an extension block (known or not): apply each attribute.
    if (/^urn:/i.test(key) && isObj(v)) {
      const ext = findExtension(set, key) ?? Object.keys(res).find((k) => k.toLowerCase() === low) ?? key;
      if (set.readOnlyExtensions.has(ext)) continue;
      for (const [sub, sv] of Object.entries(v)) applyOne(kind, res, op, `${ext}:${sub}`, sv);
      continue;
    }
    applyOne(kind, res, op, key, v);
  }
}

/**
 * A path that names a whole schema (RFC 7644 §3.10: "urn:ietf:params:scim:schemas:extension:
 * enterprise:2.0:User"): add merges the attributes given, replace sets the extension to exactly
 * them, remove drops the extension. The core schema's URN as a path means the core attributes.
 */
function applyToSchema(
  kind: ResourceKind,
  res: JsonObject,
  op: PatchOp['op'],
  urn: string,
  value: Json | undefined,
): void {
  const set = SCHEMA_SETS[kind];
  if (set.readOnlyExtensions.has(urn))
    throw scimBad(
      'mutability',
      'read_only_attribute',
      `"${urn}" is computed by Palisade and read-only; it cannot be changed with PATCH.`,
    );
  if (urn === set.core) {
    if (op === 'remove')
      throw scimBad(
        'mutability',
        'invalid_path',
        `"${urn}" names the core schema; removing every core attribute is not allowed. Remove the attributes one by one.`,
      );
    applyAttributes(kind, res, op, value, `with the path "${urn}"`);
    return;
  }
  const present = Object.keys(res).find((k) => k.toLowerCase() === urn.toLowerCase());
  if (op === 'remove') {
    if (present) delete res[present];
    return;
  }
  if (!isObj(value))
    throw scimBad(
      'invalidValue',
      'invalid_value',
      `"${urn}" is an extension: the value must be an object of its attributes, e.g. {"department": "Sales"}.`,
    );
  if (op === 'replace' && present) delete res[present];
  if (op === 'replace') res[urn] = {};
  for (const [sub, sv] of Object.entries(value)) applyOne(kind, res, 'add', `${urn}:${sub}`, sv);
}

/** Items of multi-valued complex attributes that carry primary: true, by attribute (core and extensions). */
function primaries(kind: ResourceKind, res: JsonObject): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const set = SCHEMA_SETS[kind];
  const scan = (root: JsonObject, defs: AttrDef[], prefix: string) => {
    for (const def of defs) {
      if (!def.multiValued || !def.subAttributes?.some((d) => d.name === 'primary')) continue;
      const key = Object.keys(root).find((k) => k.toLowerCase() === def.name.toLowerCase());
      const list = key === undefined ? undefined : root[key];
      if (Array.isArray(list))
        out.set(
          `${prefix}${def.name}`,
          list.filter((i) => isObj(i) && i.primary === true).map((i) => JSON.stringify(i)),
        );
    }
  };
  scan(res, set.attributes, '');
  for (const [urn, defs] of Object.entries(set.extensions))
    if (isObj(res[urn])) scan(res[urn] as JsonObject, defs, `${urn}:`);
  return out;
}

/**
 * RFC 7643 §2.4: "primary" is true on at most one value, and setting it on one value sets it to
 * false on the others. After a PATCH the value that became primary wins (the last one, if the
 * patch made several primary); in a POST or PUT the first value marked primary does.
 */
export function onePrimary(kind: ResourceKind, res: JsonObject, before?: Map<string, string[]>): void {
  const set = SCHEMA_SETS[kind];
  const fix = (root: JsonObject, defs: AttrDef[], prefix: string) => {
    for (const def of defs) {
      if (!def.multiValued || !def.subAttributes?.some((d) => d.name === 'primary')) continue;
      const key = Object.keys(root).find((k) => k.toLowerCase() === def.name.toLowerCase());
      const list = key === undefined ? undefined : root[key];
      if (!Array.isArray(list)) continue;
      const marked = list.map((item, i) => (isObj(item) && item.primary === true ? i : -1)).filter((i) => i >= 0);
      if (marked.length < 2) continue;
      const earlier = new Set(before?.get(`${prefix}${def.name}`) ?? []);
      const fresh = before ? marked.filter((i) => !earlier.has(JSON.stringify(list[i]))) : [];
      const keep = fresh.length ? (fresh[fresh.length - 1] as number) : (marked[0] as number);
      root[key as string] = list.map((item, i) =>
        isObj(item) && item.primary === true && i !== keep ? { ...item, primary: false } : item,
      );
    }
  };
  fix(res, set.attributes, '');
  for (const [urn, defs] of Object.entries(set.extensions))
    if (isObj(res[urn])) fix(res[urn] as JsonObject, defs, `${urn}:`);
}

/** Applies PatchOp operations to a canonical resource; returns a new canonical resource. */
export function applyPatch(kind: ResourceKind, resource: JsonObject, ops: PatchOp[]): JsonObject {
  const set = SCHEMA_SETS[kind];
  const res: JsonObject = structuredClone(resource);
  const before = primaries(kind, res);
  for (const o of ops) {
    if (o.path === undefined) {
      // Path-less add/replace: the value is an object of attributes (keys may be paths: "name.givenName").
      applyAttributes(kind, res, o.op === 'remove' ? 'replace' : o.op, o.value, 'without a path');
      continue;
    }
    const urn = schemaUrnOf(set, o.path);
    if (urn) applyToSchema(kind, res, o.op, urn, o.value);
    else applyOne(kind, res, o.op, o.path, o.value);
  }
  const out = canonicalResource(kind, res);
  onePrimary(kind, out, before);
  return out;
}
