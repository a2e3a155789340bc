import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Request validation with two AJV instances. Query strings, path parameters and headers arrive as
 * text and are coerced to the schema's types (`?limit=10` → 10). JSON bodies are NOT coerced: with
 * coercion a `null` in a union such as `integer | null` silently became 0 ("retain for 0 days")
 * and a `null` string became "". A body is validated exactly as sent.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const base: Options = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  strict: false,
  addUsedSchema: false,
};

function create(coerce: boolean): Ajv {
  const ajv = new Ajv({ ...base, coerceTypes: coerce ? 'array' : false });
  addFormats(ajv);
  return ajv;
}

const forText = create(true);
const forBody = create(false);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? forBody : forText).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
