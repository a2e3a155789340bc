import { DOMParser } from '@xmldom/xmldom';
import { fail } from './diagnosis.js';
import { decryptElement, directChildren } from './saml-signature.js';

/**
 * Reads a verified assertion (the octets its signature covers, parsed again by ./saml-signature.ts):
 * who the IdP says signed in, and for whom the assertion is meant. Nothing here looks at the
 * envelope.
 */
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const plain = "Your identity provider's answer failed Palisade's security checks, so you were not signed in.";

/**
 * Audience restriction (SAML core §2.5.1.4): the assertion must carry one, and every
 * AudienceRestriction must name Palisade's entity id (several restrictions all apply; within one,
 * any of its Audiences suffices).
 */
export function checkAudience(conditions: Element | undefined, entityId: string): void {
  const restrictions = conditions ? directChildren(conditions, SAML_NS, 'AudienceRestriction') : [];
  const audiences = restrictions.map((r) =>
    directChildren(r, SAML_NS, 'Audience').map((a) => (a.textContent ?? '').trim()),
  );
  if (audiences.length === 0 || audiences.some((names) => !names.includes(entityId)))
    throw fail('saml_wrong_audience', plain, "AudienceRestriction names Palisade's entity id", {
      expected: entityId,
      received: audiences.flat().slice(0, 10),
      detail:
        audiences.length === 0
          ? "The assertion has no AudienceRestriction. Configure the identity provider with the Audience (SP entity ID) from Palisade's SP metadata."
          : "Set the identity provider's Audience URI (SP entity ID) to the entity ID in Palisade's SP metadata for this connection.",
    });
}

export interface SignedProfile {
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  /** Every attribute by Name, as the list of its AttributeValues' text (a value is never split or joined). */
  attributes: Record<string, string[]>;
}

/** The subject and attributes of a verified assertion; an encrypted NameID is decrypted with the SP key. */
export async function profileOf(
  assertion: Element,
  openDecryptionKey: () => Promise<string | null>,
): Promise<SignedProfile> {
  const issuer = directChildren(assertion, SAML_NS, 'Issuer')[0]?.textContent ?? '';
  const subject = directChildren(assertion, SAML_NS, 'Subject')[0];
  let nameIdElement = subject ? directChildren(subject, SAML_NS, 'NameID')[0] : undefined;
  const encryptedId = subject ? directChildren(subject, SAML_NS, 'EncryptedID')[0] : undefined;
  if (!nameIdElement && encryptedId) {
    const decryptionKey = await openDecryptionKey();
    if (decryptionKey === null)
      throw fail('saml_validation_failed', plain, 'an SP key to decrypt the NameID', {
        detail: 'The identity provider encrypted the NameID, but this connection has no SP private key.',
      });
    const xml = await decryptElement(encryptedId, decryptionKey);
    const doc = new DOMParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
    const root = doc.documentElement;
    if (root?.localName === 'NameID' && root.namespaceURI === SAML_NS) nameIdElement = root;
  }
  const attributes: Record<string, string[]> = {};
  for (const statement of directChildren(assertion, SAML_NS, 'AttributeStatement')) {
    for (const attribute of directChildren(statement, SAML_NS, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      const values = directChildren(attribute, SAML_NS, 'AttributeValue').map((v) => v.textContent ?? '');
      if (!name || values.length === 0) continue;
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }
  }
  return {
    issuer,
    nameId: nameIdElement?.textContent ?? '',
    nameIdFormat: nameIdElement?.getAttribute('Format') || null,
    attributes,
  };
}
