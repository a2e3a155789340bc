import type { ErrorCodeCatalog } from '../errors.js';

/** The built-in test identity provider: each code once, with its one HTTP status and what to do (src/errors.ts). */
export const TEST_IDP_ERROR_CODES = {
  test_idp_disabled: {
    status: 404,
    message:
      "Palisade's built-in test identity provider is turned off on this installation. An operator can turn it on for a trial installation with PALISADE_TEST_IDP=true (never for one people rely on: its form accepts any address); otherwise connect a real identity provider.",
  },
  test_idp_request_invalid: {
    status: 400,
    message:
      'The test identity provider could not read this sign-in request, or it does not come from a Palisade connection to the test identity provider. Start signing in again from Palisade.',
  },
} as const satisfies ErrorCodeCatalog;
