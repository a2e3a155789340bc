import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { type Capture, captureForEmail, sameCompany } from './capture.js';

/**
 * Who may vouch for the person behind an email address (DESIGN.md, "Accounts and credentials").
 * Accounts are installation-wide, so a credential (password, link) or an activated membership of an
 * account is set only by whoever controls the address, or by the company that verified the
 * address's domain (it administers that domain's accounts, as Google Workspace or Slack do):
 *
 * - `this_company`: the acting organization, or another organization of its tree, verified the
 *   domain. It manages the account: its admins may invite it with a link they see, activate it,
 *   reset it; its IdP and SCIM directory vouch for it.
 * - `other_company`: an organization outside the tree verified it. The acting organization may
 *   invite an existing account (which accepts through its own organization's sign-in), nothing more:
 *   it cannot create, claim, activate or set a credential of an account there.
 * - `nobody`: no one verified it. Only the mailbox's owner proves the account, by a link delivered
 *   to the address.
 */
export type AddressAuthority =
  { kind: 'this_company'; capture: Capture } | { kind: 'other_company'; domain: string } | { kind: 'nobody' };

export async function addressAuthority(db: Queryable, orgId: string | null, email: string): Promise<AddressAuthority> {
  const capture = await captureForEmail(db, email);
  if (!capture) return { kind: 'nobody' };
  if (orgId !== null && (await sameCompany(db, orgId, capture.orgId))) return { kind: 'this_company', capture };
  return { kind: 'other_company', domain: capture.domain };
}

/**
 * The refusal for creating or claiming an account at a domain another company verified. It names
 * the rule and the domain, never the organization that verified it.
 */
export function domainManagedElsewhere(email: string, domain: string, action: string): PalisadeError {
  return new PalisadeError(
    403,
    'email_domain_captured',
    `${email} is at ${domain}, a domain another organization verified in Palisade: only that organization creates, activates or resets accounts there, so ${action} is refused. An existing account there can be invited and accepts by signing in through its own organization; otherwise ask the person to contact their organization's administrators.`,
    { details: { domain, rule: 'domain_capture' } },
  );
}
