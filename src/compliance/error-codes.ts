import type { ErrorCodeCatalog } from '../errors.js';

/** The Compliance API and its keys: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const COMPLIANCE_ERROR_CODES = {
  compliance_key_needs_session: {
    status: 403,
    message: 'Create compliance keys while signed in to Palisade in a browser session, not with an API token.',
  },
  compliance_keys_top_level_only: {
    status: 403,
    message:
      'Compliance keys are created in the top-level organization, by one of its primary owners; a key can then be limited to this organization with "organizationIds".',
  },
  compliance_rate_limited: {
    status: 429,
    message:
      'This compliance key sent more requests than its rate limit allows. Wait the seconds in Retry-After, then continue; page with larger limits instead of more requests.',
  },
  conflicting_cursors: { status: 400, message: 'Send after_id (next page) or before_id (previous page), not both.' },
  invalid_activity_type: {
    status: 400,
    message:
      'activity_types value "…" is not an activity type; use a dotted name such as member.role_changed, or a prefix such as member.* (see docs/audit-log.md for the types).',
  },
  invalid_compliance_key: {
    status: 401,
    message:
      'This compliance key is not valid: it may be mistyped, expired or revoked. Ask a primary owner of the organization for a new one.',
  },
  invalid_organization_ids: {
    status: 400,
    message:
      "These organization ids are not in this organization's tree: …. List organizations of this tree (this one or its descendants), or omit organizationIds for the whole tree.",
  },
  legal_hold: {
    status: 409,
    message:
      "This … is under a legal hold (…) and cannot be deleted. Ask the organization's admins to lift the hold when the matter is closed, then delete it.",
  },
  missing_scope: {
    status: 403,
    message:
      'This endpoint needs the … scope (…), which compliance key … does not have. Ask a primary owner for a key with ….',
  },
  too_many_filter_values: {
    status: 400,
    message: '… has … values; send at most … per request and split larger lists over several requests.',
  },
  too_many_invalid_tokens: {
    status: 429,
    message:
      'Too many requests with an invalid credential came from this network address. Wait the seconds in Retry-After and check the key or token you send.',
  },
} as const satisfies ErrorCodeCatalog;
