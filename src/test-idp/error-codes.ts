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
  test_idp_sign_in_required: {
    status: 401,
    message:
      'The test identity provider signs in only for a signed-in admin. Sign in to Palisade as an admin of … first, then come back to this page.',
  },
  test_idp_admin_required: {
    status: 403,
    message:
      'You are signed in to Palisade as …, who is not an admin of …. The test identity provider signs in only for an admin of the organization that owns the connection: sign in as one.',
  },
  test_idp_form_token_invalid: {
    status: 403,
    message:
      "This answer to the test identity provider's form does not carry the token of the form shown to you for this sign-in. Start signing in again from Palisade.",
  },
  test_idp_impersonation_refused: {
    status: 403,
    message:
      '… already has a Palisade account, and it is not yours: the test identity provider never signs in as another person. Sign in as yourself (…), or use a new address at … to try a new person. Reference: ….',
  },
} as const satisfies ErrorCodeCatalog;
