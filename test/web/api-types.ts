import openapiTS, { type OpenAPI3 } from 'openapi-typescript';
import { createTestApp } from '../helpers/harness.js';

export const SCHEMA_PATH = 'web/src/api/schema.d.ts';

/** web/src/api/schema.d.ts: openapi-typescript's rendering of the app's own /openapi.json. */
export async function renderApiTypes(): Promise<string> {
  const t = await createTestApp();
  let doc: OpenAPI3;
  try {
    await t.app.ready();
    doc = t.app.swagger() as unknown as OpenAPI3;
  } finally {
    await t.close();
  }
  const body = await openapiTS(doc, { exportType: false, alphabetize: false, immutableTypes: false });
  return (
    '// Generated from the OpenAPI document the server builds (/openapi.json) by `npm run web:api`; do not edit by hand.\n' +
    body
  );
}
