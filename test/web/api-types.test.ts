import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SCHEMA_PATH, renderApiTypes } from './api-types.js';

// The console's client types come from the API's own OpenAPI document; a route or schema change
// without `npm run web:api` would leave the console compiling against an API that no longer exists.
test('web/src/api/schema.d.ts matches the OpenAPI document the server builds', async () => {
  const expected = await renderApiTypes();
  const actual = readFileSync(SCHEMA_PATH, 'utf8');
  assert.ok(actual === expected, `${SCHEMA_PATH} is stale: run npm run web:api`);
});
