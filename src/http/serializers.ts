import fastJsonStringify, { type Options as SerializerOptions, type Schema } from 'fast-json-stringify';

type JsonSchema = Record<string, unknown>;
/** fast-json-stringify's own schema type: ours are TypeBox/JSON Schema objects it accepts at run time. */
const asSchema = (s: JsonSchema): Schema => s as unknown as Schema;
type Serializer = (data: unknown) => string;
type ExternalSchemas = Record<string, JsonSchema>;

/**
 * Fastify's response serializers, built the way a server with hundreds of routes and a few dozen
 * shared schemas needs.
 *
 * The default compiler hands every shared schema (`app.addSchema`) to fast-json-stringify for every
 * route and status code, and fast-json-stringify validates and indexes each of them on every build:
 * routes × statuses × shared schemas. Palisade's start-up spent about 10 s of CPU there, before the
 * first request (so did every rolling restart and every test app). Here each build gets only the
 * shared schemas its response schema reaches through `$ref`, and identical response schemas (the
 * error responses most routes share) are built once: a serializer is a pure function of its schema.
 * The generated code is fast-json-stringify's own, so what goes out on the wire does not change.
 */
export function serializerFactory(
  externalSchemas: unknown,
  serializerOpts: unknown,
): (route: { schema?: unknown }) => Serializer {
  // Fastify passes the schemas added with addSchema, keyed by $id, and its serializerOpts option.
  const byId = new Map<string, JsonSchema>(Object.entries((externalSchemas ?? {}) as ExternalSchemas));
  const opts = (serializerOpts ?? {}) as SerializerOptions;
  const optsKey = JSON.stringify(opts);
  return (route) => {
    const schema = (route.schema ?? {}) as JsonSchema;
    const key = `${optsKey}\n${JSON.stringify(schema)}`;
    const reached = new Map<string, JsonSchema>();
    for (const id of reachableSchemaIds(schema, byId)) if (id !== schema.$id) reached.set(id, byId.get(id)!);
    // Shared across app instances (a test process builds many): reused only when every shared
    // schema it was built with is the very same object.
    const cached = built.get(key);
    if (cached && cached.deps.size === reached.size && [...reached].every(([id, s]) => cached.deps.get(id) === s))
      return cached.serializer;
    const serializer = fastJsonStringify(asSchema(schema), {
      ...opts,
      schema: Object.fromEntries([...reached].map(([id, s]) => [id, asSchema(s)])),
    }) as Serializer;
    built.set(key, { deps: reached, serializer });
    return serializer;
  };
}

const built = new Map<string, { deps: ReadonlyMap<string, JsonSchema>; serializer: Serializer }>();

/** The ids of the shared schemas `schema` refers to, directly or through other shared schemas. */
export function reachableSchemaIds(schema: unknown, byId: ReadonlyMap<string, unknown>): Set<string> {
  const found = new Set<string>();
  const pending: unknown[] = [schema];
  while (pending.length) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      pending.push(...node);
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const id = v.split('#')[0]!;
        // A local ref (#/…) stays within the schema being built; an unknown id is left for
        // fast-json-stringify to report, as it would have.
        if (id && !found.has(id) && byId.has(id)) {
          found.add(id);
          pending.push(byId.get(id));
        }
      } else if (typeof v === 'object') pending.push(v);
    }
  }
  return found;
}
