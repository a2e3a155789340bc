import type { ErrorCodeCatalog } from '../errors.js';

/** The model gateway: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const GATEWAY_ERROR_CODES = {
  invalid_gateway_key: {
    status: 401,
    message:
      'The gateway key is not valid: mistyped, revoked, expired or of another installation. Create a gateway key (POST /api/v1/orgs/{orgId}/gateway-keys) and send it as x-api-key or Authorization: Bearer.',
  },
  invalid_upstream_url: {
    status: 400,
    message: "The model provider baseUrl must use http:// or https://. Give the provider's API base URL.",
  },
  key_cannot_mint_key: { status: 400, message: 'Create gateway keys while signed in, not with a gateway key.' },
  model_not_allowed: {
    status: 403,
    message:
      'This organization does not allow the model "…". Use one listed by GET /v1/models, or ask an admin to allow it.',
  },
  model_not_found: {
    status: 404,
    message: 'No model "…" is available to this organization. GET /v1/models lists those that are.',
  },
  no_upstream_configured: {
    status: 409,
    message:
      'This organization has no model provider configured. An admin sets one with PUT /api/v1/orgs/{orgId}/gateway/upstream.',
  },
  organization_required: {
    status: 400,
    message: 'You belong to several organizations: name one in the x-palisade-org header.',
  },
  request_too_large: {
    status: 413,
    message:
      'Requests to the model gateway are limited to … bytes; this one is larger. Send smaller images or documents, or fewer of them.',
  },
  unsupported_parameter: {
    status: 400,
    message:
      'A request parameter is not supported through the gateway (the message names it and why). Remove it or use a supported equivalent.',
  },
  upstream_credential_shredded: {
    status: 409,
    message:
      "The model provider credential was encrypted with this organization's destroyed keys; an admin must enter it again (PUT /api/v1/orgs/{orgId}/gateway/upstream with apiKey).",
  },
  upstream_error: {
    status: 502,
    message:
      'The model provider answered with an error (its status and message are included). Check the provider key, model and quota with the provider.',
  },
  upstream_protocol_mismatch: {
    status: 400,
    message:
      "This organization's model provider speaks the OpenAI API, which has no token-counting endpoint; count with your tokenizer, or use the usage of a response.",
  },
  upstream_rate_limited: {
    status: 429,
    message:
      "The model provider is limiting this organization's requests. Try again after the seconds in Retry-After, or raise the limit with the provider.",
  },
  upstream_unreachable: {
    status: 502,
    message:
      'The model provider could not be reached. Try again; if it persists, an admin should check the provider URL.',
  },
} as const satisfies ErrorCodeCatalog;
