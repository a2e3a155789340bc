/**
 * Writes web/src/api/schema.d.ts, the console's request and response types, from the OpenAPI
 * document the server builds (the app built in-process, as `npm run docs:gen` does): `npm run web:api`.
 * test/web/api-types.test.ts fails when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCHEMA_PATH, renderApiTypes } from '../test/web/api-types.js';

writeFileSync(fileURLToPath(new URL(`../${SCHEMA_PATH}`, import.meta.url)), await renderApiTypes());
console.log(`wrote ${SCHEMA_PATH}`);
