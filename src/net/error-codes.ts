import type { ErrorCodeCatalog } from '../errors.js';

/** Outbound connections: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const NET_ERROR_CODES = {
  invalid_host: {
    status: 400,
    message:
      '"…" is not a host name or IP address; give a name such as siem.example.com or an address such as 10.0.0.5.',
  },
  unsupported_url_scheme: {
    status: 400,
    message: 'Only https:// URLs (or http:// where the operator allows it) are accepted here. Use https://.',
  },
  destination_address_denied: {
    status: 400,
    message:
      'A destination set by an organization admin (IdP metadata, SIEM endpoint, model provider, GitHub API) resolves to an address the outbound policy refuses: loopback, link-local, cloud metadata or a denied network. Use a public or allowed address; an operator can allow a network with PALISADE_OUTBOUND_ALLOW_CIDRS.',
  },
} as const satisfies ErrorCodeCatalog;
