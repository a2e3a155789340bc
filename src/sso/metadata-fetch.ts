import type { PalisadeConfig } from '../config.js';
import { PalisadeError, badRequest } from '../errors.js';
import { type OutboundResponse, outboundRequest } from '../net/outbound.js';
import { type IdpMetadata, parseIdpMetadata } from './idp-metadata.js';

const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;

/**
 * Downloads and parses IdP metadata; every failure says what to check. The URL is an admin's
 * choice, so every hop (redirects included, each one checked again) goes through the outbound
 * policy: a metadata URL cannot reach this machine, cloud metadata or other denied ranges.
 */
export async function fetchIdpMetadata(config: PalisadeConfig, url: string): Promise<IdpMetadata> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw badRequest(
      'invalid_url',
      `"${url.slice(0, 100)}" is not a URL; give the full https:// address of your IdP's metadata.`,
    );
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'https:' && current.protocol !== 'http:')
      throw badRequest(
        'invalid_url',
        `The metadata URL${hop ? ' redirects to one that' : ''} must be an https:// URL.`,
      );
    let res: OutboundResponse;
    try {
      res = await outboundRequest(config, current, {
        timeoutMs: 10_000,
        maxBytes: MAX_METADATA_BYTES,
        headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
      });
    } catch (err) {
      if (err instanceof PalisadeError) throw err; // destination_address_denied names the host, the address and the setting
      throw new PalisadeError(
        502,
        'idp_metadata_unreachable',
        `Palisade could not download the IdP metadata from ${current.host} (${(err as Error).message.slice(0, 100)}). Check the URL and that Palisade can reach it.`,
      );
    }
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && location) {
      if (hop >= MAX_REDIRECTS)
        throw new PalisadeError(
          502,
          'idp_metadata_unreachable',
          `The IdP metadata URL redirected more than ${MAX_REDIRECTS} times. Give the final metadata URL.`,
        );
      current = new URL(location, current);
      continue;
    }
    if (res.status < 200 || res.status >= 300)
      throw new PalisadeError(
        502,
        'idp_metadata_unreachable',
        `The IdP metadata URL answered HTTP ${res.status}. Check the URL in your identity provider's admin console.`,
      );
    if (res.truncated)
      throw badRequest(
        'invalid_idp_metadata',
        'The IdP metadata is larger than 1 MiB; use the metadata of the single application, not a federation aggregate.',
      );
    return parseIdpMetadata(res.body.toString('utf8'));
  }
}
