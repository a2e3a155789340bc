import { scimBad } from './errors.js';
import { type PatchPath, locate, parsePatchPath } from './filter.js';
import {
  type AttrDef,
  type ResourceKind,
  SCHEMA_SETS,
  type SchemaSet,
  findAttr,
  findExtension,
  schemaUrnOf,
} from './schemas.js';

/**
 * JSON resources in canonical form: attribute names in the schema's casing (clients may use any
 * case), booleans as booleans (Entra sends "False"), read-only and write-only attributes dropped.
 * Unknown attributes are KEPT as sent and returned as sent: Palisade never loses data a client
 * pushed, and never crashes on it.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export const isObj = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Never stored: id and meta are Palisade's, groups are derived, password is not kept (SSO signs people in). */
const DROPPED: Record<ResourceKind, Set<string>> = {
  User: new Set(['id', 'meta', 'groups', 'password']),
  Group: new Set(['id', 'meta']),
};

function coerce(def: AttrDef, value: Json, where: string): Json {
  if (value === null) return null;
  if (def.multiValued) {
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => coerceSingle(def, v, where));
  }
  if (Array.isArray(value)) {
    if (value.length === 1) return coerceSingle(def, value[0] as Json, where);
    throw scimBad('invalidValue', 'invalid_value', `"${where}" takes a single value, not a list.`);
  }
  return coerceSingle(def, value, where);
}

function coerceSingle(def: AttrDef, value: Json, where: string): Json {
  if (value === null) return null;
  switch (def.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
        return value.trim().toLowerCase() === 'true';
      throw scimBad(
        'invalidValue',
        'invalid_value',
        `"${where}" must be true or false, not ${JSON.stringify(value).slice(0, 60)}.`,
      );
    case 'complex': {
      // Entra sends the manager as a bare id string; treat a scalar as the "value" sub-attribute.
      const obj: JsonObject = isObj(value) ? value : { value };
      return canonicalObject(def.subAttributes ?? [], obj, where);
    }
    case 'integer':
    case 'decimal':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
      throw scimBad('invalidValue', 'invalid_value', `"${where}" must be a number.`);
    default:
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw scimBad('invalidValue', 'invalid_value', `"${where}" must be a string.`);
  }
}

function canonicalObject(defs: AttrDef[], obj: JsonObject, where: string): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const def = findAttr(defs, key);
    if (!def) {
      out[key] = value;
      continue;
    }
    out[def.name] = coerce(def, value, where ? `${where}.${def.name}` : def.name);
  }
  return out;
}

const MAX_DEPTH = 16;

/** Refuses absurdly nested values (checked iteratively: the check itself cannot overflow the stack). */
export function assertDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d >= MAX_DEPTH)
      throw scimBad(
        'invalidValue',
        'too_deep',
        `The resource nests values more than ${MAX_DEPTH} levels deep; SCIM attributes are at most two levels deep.`,
      );
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
}

/** Canonical form of a resource sent by a client (POST/PUT body, or the result of a PATCH). */
export function canonicalResource(kind: ResourceKind, body: JsonObject): JsonObject {
  assertDepth(body);
  const set = SCHEMA_SETS[kind];
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(body)) {
    // schemas is ours to compute; Palisade's read-only extensions are output that clients may echo back.
    if (key.toLowerCase() === 'schemas') continue;
    const ext = findExtension(set, key);
    if (ext && set.readOnlyExtensions.has(ext)) continue;
    if (ext) {
      if (!isObj(value))
        throw scimBad('invalidValue', 'invalid_value', `"${ext}" must be an object of extension attributes.`);
      out[ext] = canonicalObject(set.extensions[ext] ?? [], value, ext);
      continue;
    }
    const def = findAttr(set.attributes, key);
    if (def && DROPPED[kind].has(def.name)) continue;
    if (!def) {
      out[key] = value;
      continue;
    }
    out[def.name] = coerce(def, value, def.name);
  }
  return out;
}

export function schemasOf(kind: ResourceKind, resource: JsonObject, extra: string[] = []): string[] {
  const set = SCHEMA_SETS[kind];
  return [set.core, ...Object.keys(set.extensions).filter((u) => isObj(resource[u])), ...extra];
}

// ---- attributes / excludedAttributes (RFC 7644 §3.9) ---------------------------------------------

function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function pathKey(
  set: SchemaSet,
  raw: string,
): { container: string; attr: string; sub: string | undefined } | { whole: string } {
  // "urn:…:enterprise:2.0:User" names the whole extension (and the core URN the core attributes).
  const urn = schemaUrnOf(set, raw);
  if (urn) return { whole: urn };
  let p: PatchPath;
  try {
    p = parsePatchPath(raw);
  } catch {
    throw scimBad(
      'invalidValue',
      'invalid_attributes',
      `"${raw.slice(0, 100)}" in attributes/excludedAttributes is not an attribute path.`,
    );
  }
  const { container, def } = locate(set, p.path);
  return { container, attr: def?.name ?? p.path.attr, sub: p.path.sub };
}

function pick(obj: Json, key: string): [string, Json] | undefined {
  if (!isObj(obj)) return undefined;
  const k = key.toLowerCase();
  const found = Object.keys(obj).find((n) => n.toLowerCase() === k);
  return found === undefined ? undefined : [found, obj[found] as Json];
}

const ALWAYS = new Set(['id', 'schemas']);

export function project(kind: ResourceKind, full: JsonObject, attributes?: string, excluded?: string): JsonObject {
  const set = SCHEMA_SETS[kind];
  const include = splitList(attributes);
  if (include.length) {
    const out: JsonObject = {};
    for (const k of ALWAYS) if (k in full) out[k] = full[k] as Json;
    for (const raw of include) {
      const key = pathKey(set, raw);
      if ('whole' in key) {
        if (key.whole === set.core) {
          for (const [k, v] of Object.entries(full)) if (!/^urn:/i.test(k)) out[k] = v;
        } else if (key.whole in full) out[key.whole] = full[key.whole] as Json;
        continue;
      }
      const { container, attr, sub } = key;
      const root = container === 'core' ? full : (full[container] as Json);
      const hit = pick(root, attr);
      if (!hit) continue;
      const target = container === 'core' ? out : ((out[container] as JsonObject | undefined) ?? (out[container] = {}));
      if (!sub) {
        (target as JsonObject)[hit[0]] = hit[1];
        continue;
      }
      const val = hit[1];
      if (Array.isArray(val)) {
        const prev = ((target as JsonObject)[hit[0]] as JsonObject[] | undefined) ?? val.map(() => ({}));
        val.forEach((item, i) => {
          const s = pick(item, sub);
          if (s && prev[i]) (prev[i] as JsonObject)[s[0]] = s[1];
        });
        (target as JsonObject)[hit[0]] = prev;
      } else {
        const s = pick(val, sub);
        if (s)
          (((target as JsonObject)[hit[0]] as JsonObject | undefined) ?? ((target as JsonObject)[hit[0]] = {}))[s[0]] =
            s[1];
      }
    }
    return out;
  }
  const out: JsonObject = structuredClone(full);
  for (const raw of splitList(excluded)) {
    const key = pathKey(set, raw);
    if ('whole' in key) {
      if (key.whole !== set.core) delete out[key.whole];
      continue;
    }
    const { container, attr, sub } = key;
    if (container === 'core' && ALWAYS.has(attr)) continue;
    const root = container === 'core' ? out : (out[container] as Json);
    const hit = pick(root, attr);
    if (!hit || !isObj(root)) continue;
    if (!sub) delete root[hit[0]];
    else
      for (const item of Array.isArray(hit[1]) ? hit[1] : [hit[1]])
        if (isObj(item)) {
          const s = pick(item, sub);
          if (s) delete item[s[0]];
        }
  }
  return out;
}
