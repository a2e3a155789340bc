import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { DOMParser, onErrorStopParsing } from '@xmldom/xmldom';
import type { Ctx } from '../context.js';
import { acsUrl, claimNames, type ConnectionRow, spEntityId } from './connections.js';
import { SsoFailure, fail } from './diagnosis.js';
import { toPem } from './idp-metadata.js';
import { type Identity, identityFrom } from './provision.js';
import {
  checkAlgorithms,
  checkBearerConfirmation,
  checkIssuer,
  checkLifetime,
  checkStatus,
  issuerOf,
  responseStatus,
} from './saml-policy.js';
import { spPrivateKey } from './secrets.js';
import { checkAudience, profileOf } from './saml-assertion.js';
import {
  SignatureNotVerified,
  SignatureWrapping,
  decryptElement,
  directChildren,
  signedAssertion,
  verifiedElement,
} from './saml-signature.js';
import { describeSigningCertificate, fingerprintOf, signingCertificateOf } from './signing-certificate.js';
import { assertSameBrowser, consumeLoginState, samlRequestCache, stateKey } from './store.js';
import type { SsoLoginStatesTable } from './tables.js';

/**
 * SAML 2.0 service provider. @node-saml/node-saml builds AuthnRequests (signed when configured) and
 * SP metadata; responses are verified by Palisade on the one parse it makes of them: the signature by
 * xml-crypto (./saml-signature.ts), the identity read from the verified octets (./saml-assertion.ts).
 * The checks: no DTDs, structure (one assertion, the signature covers it, a signed Response verifies
 * too), the IdP's status, the algorithms (./saml-policy.ts), the Issuer of response and assertion,
 * comments inside identity values, IdP-initiated policy, InResponseTo single use and its match in the
 * signed assertion, recipient and destination, audience, time against Palisade's clock, a cap on the
 * assertion's lifetime, and assertion replay.
 */
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
/** Clock skew tolerated between Palisade and the IdP. */
export const SAML_CLOCK_SKEW_MS = 3 * 60_000;

/**
 * @param decryptionPvk the connection's SP private key, opened by `spPrivateKey` (./secrets.ts) for
 * this one sign-in, or null when the connection has none.
 * @param signingKey the same key when this SAML instance signs the AuthnRequest it builds (the
 * connection's `saml_sign_authn_requests` is on), else null. node-saml then adds SigAlg and Signature
 * to the redirect URL: an RSA-SHA256 signature over `SAMLRequest=…&SigAlg=…` exactly as the URL
 * carries them (SAML bindings §3.4.4.1), and its metadata says AuthnRequestsSigned="true".
 */
function samlFor(
  ctx: Ctx,
  conn: ConnectionRow,
  purpose: 'login' | 'test',
  initiatedBy: string | null,
  binding: string | null,
  decryptionPvk: string | null,
  signingKey: string | null = null,
): SAML {
  const certs = (JSON.parse(conn.saml_idp_certs ?? '[]') as string[]).map(toPem);
  return new SAML({
    idpCert: certs,
    issuer: spEntityId(ctx, conn.id),
    callbackUrl: acsUrl(ctx, conn.id),
    entryPoint: conn.saml_idp_sso_url ?? '',
    audience: spEntityId(ctx, conn.id),
    idpIssuer: conn.saml_idp_entity_id ?? '',
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: SAML_CLOCK_SKEW_MS,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    requestIdExpirationPeriodMs: 10 * 60_000,
    cacheProvider: samlRequestCache(ctx.db, ctx, conn.id, conn.org_id, purpose, initiatedBy, binding),
    identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    disableRequestedAuthnContext: true,
    ...(decryptionPvk !== null ? { decryptionPvk } : {}),
    ...(signingKey !== null ? { privateKey: signingKey, signatureAlgorithm: 'sha256' as const } : {}),
  });
}

/**
 * Stands in for the private key when only metadata is generated: node-saml publishes the encryption
 * certificate when a decryption key is configured, and reading the public certificate must not open
 * the sealed key (the metadata route is public). This SAML instance never decrypts anything.
 */
const SEALED_KEY_NOT_OPENED = 'sealed SP private key (not opened to publish metadata)';

export function spMetadataXml(ctx: Ctx, conn: ConnectionRow): string {
  // The SP certificate is offered for encryption, and for signing when AuthnRequests are signed
  // (then the metadata says AuthnRequestsSigned="true"). Generating metadata never signs anything.
  const hasKey = conn.sp_private_key_ct !== null;
  const signs = hasKey && conn.saml_sign_authn_requests === 1;
  return samlFor(
    ctx,
    conn,
    'login',
    null,
    null,
    hasKey ? SEALED_KEY_NOT_OPENED : null,
    signs ? SEALED_KEY_NOT_OPENED : null,
  ).generateServiceProviderMetadata(conn.sp_certificate, conn.sp_certificate);
}

export async function startSaml(
  ctx: Ctx,
  conn: ConnectionRow,
  purpose: 'login' | 'test',
  initiatedBy: string | null,
  binding: string,
): Promise<string> {
  // Opened here too, so a connection whose key was shredded or tampered with fails before the person goes to the IdP.
  const pvk = await spPrivateKey(ctx.db, ctx.config, conn);
  const sign = conn.saml_sign_authn_requests === 1;
  if (sign && pvk === null) {
    throw fail(
      'saml_signing_key_missing',
      'This sign-in method is not set up completely. Your administrator has been given the details.',
      'SP private key present to sign the AuthnRequest',
      {
        expected: 'an SP key',
        received: null,
        detail:
          'The connection signs AuthnRequests but has no SP private key: create the connection again (it gets a new SP key) and give the identity provider the new SP metadata.',
      },
      500,
    );
  }
  return samlFor(ctx, conn, purpose, initiatedBy, binding, pvk, sign ? pvk : null).getAuthorizeUrlAsync(
    '',
    undefined,
    {},
  );
}

const plain = "Your identity provider's answer failed Palisade's security checks, so you were not signed in.";

interface Shape {
  doc: Document;
  inResponseTo: string | null;
  destination: string | null;
  assertionId: string | null;
  encrypted: boolean;
  /** The one plain Assertion (a direct child of the Response), or the one EncryptedAssertion. */
  assertion: Element;
}

/** Reads the unsigned envelope to decide policy before the library runs; nothing here is trusted for identity. */
function inspect(xml: string, conn: ConnectionRow): Shape {
  // A DTD can declare entities (billion laughs, external entities); no SAML message needs one.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    throw fail(
      'saml_malformed',
      'Palisade could not read the answer from your identity provider.',
      'no document type declaration',
      {
        received: 'a <!DOCTYPE> or <!ENTITY> declaration',
        detail: 'SAML messages never need a DTD; Palisade refuses documents that declare one.',
      },
    );
  let doc: Document;
  try {
    // Not well-formed is refused here: a document the parser had to repair is read differently by
    // each XML reader (the verifier parses it again), and no IdP sends one.
    doc = new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch (err) {
    throw fail(
      'saml_malformed',
      'Palisade could not read the answer from your identity provider.',
      'SAMLResponse is well-formed XML',
      { detail: String((err as Error).message ?? err).slice(0, 200) },
    );
  }
  const response = doc.documentElement;
  if (!response || response.localName !== 'Response' || response.namespaceURI !== SAMLP_NS) {
    throw fail(
      'saml_malformed',
      'Palisade could not read the answer from your identity provider.',
      'document is a samlp:Response',
      { received: response?.localName ?? null },
    );
  }
  if (response.getAttribute('Version') !== '2.0')
    throw fail(
      'saml_malformed',
      'Palisade could not read the answer from your identity provider.',
      'Response Version is 2.0',
      { expected: '2.0', received: response.getAttribute('Version') },
    );
  // The IdP's own verdict first: an error status is a refusal whatever else the response carries.
  checkStatus(responseStatus(response));
  checkAlgorithms(doc, conn.saml_allow_sha1 === 1, 'this response');
  const responseSigned = directChildren(response, DS_NS, 'Signature').length > 0;
  const encrypted = Array.from(doc.getElementsByTagNameNS(SAML_NS, 'EncryptedAssertion'));
  const assertions = Array.from(doc.getElementsByTagNameNS(SAML_NS, 'Assertion'));
  if (encrypted.length) {
    // The library decrypts and verifies the signature inside; the envelope must hold that one assertion only.
    if (encrypted.length > 1 || assertions.length > 0 || encrypted[0]?.parentNode !== response) {
      throw fail(
        'saml_signature_wrapping',
        plain,
        'exactly one EncryptedAssertion directly under Response and no other assertion',
        { expected: 1, received: encrypted.length + assertions.length },
      );
    }
    const wrongIssuer = checkIssuer(issuerOf(response), conn.saml_idp_entity_id, 'Response', true);
    if (wrongIssuer) throw wrongIssuer;
    return {
      doc,
      inResponseTo: response.getAttribute('InResponseTo') || null,
      destination: response.getAttribute('Destination') || null,
      assertionId: null,
      encrypted: true,
      assertion: encrypted[0] as Element,
    };
  }
  if (assertions.length === 0)
    throw fail('saml_no_assertion', plain, 'exactly one Assertion', { expected: 1, received: 0 });
  // Both classic wrapping forms carry a second Assertion: beside/around the signed one, or inside it.
  if (assertions.length > 1) {
    throw fail('saml_signature_wrapping', plain, 'exactly one Assertion (signature wrapping)', {
      expected: 1,
      received: assertions.length,
      detail: `assertion ids: ${assertions.map((a) => a.getAttribute('ID')).join(', ')}`,
    });
  }
  const assertion = assertions[0] as Element;
  if (assertion.parentNode !== response) {
    throw fail('saml_signature_wrapping', plain, 'Assertion is a direct child of Response (signature wrapping)', {
      expected: 'Response/Assertion',
      received: `${(assertion.parentNode as Element | null)?.localName ?? '?'}/Assertion`,
    });
  }
  const assertionId = assertion.getAttribute('ID');
  const signatures = Array.from(doc.getElementsByTagNameNS(DS_NS, 'Signature'));
  const refs = signatures.flatMap((s) =>
    Array.from(s.getElementsByTagNameNS(DS_NS, 'Reference')).map((r) => r.getAttribute('URI') ?? ''),
  );
  const signedIds = new Set(refs.map((u) => u.replace(/^#/, '')));
  const assertionSigned = signatures.some((s) => s.parentNode === assertion);
  if (!assertionSigned && !responseSigned)
    throw fail('saml_unsigned', plain, 'assertion or response is signed', {
      expected: 'ds:Signature in Assertion',
      received: 'no signature',
    });
  if (assertionSigned && (!assertionId || !signedIds.has(assertionId))) {
    throw fail('saml_signature_wrapping', plain, 'signature reference points at the assertion (signature wrapping)', {
      expected: `#${assertionId}`,
      received: refs,
    });
  }
  if (!assertionSigned)
    throw fail('saml_assertion_unsigned', plain, 'assertion is signed', {
      expected: 'ds:Signature inside the Assertion',
      received: 'only the Response is signed',
    });
  refuseCommentsInIdentity(assertion);
  // Checked on the envelope here (optional unless signed), and on the signed assertion after validation.
  const wrongIssuer = checkIssuer(issuerOf(response), conn.saml_idp_entity_id, 'Response', responseSigned);
  if (wrongIssuer) throw wrongIssuer;
  return {
    doc,
    inResponseTo: response.getAttribute('InResponseTo') || null,
    destination: response.getAttribute('Destination') || null,
    assertionId,
    encrypted: false,
    assertion,
  };
}

/**
 * A comment inside a signed value changes what a naive reader sees without breaking the signature
 * (canonicalization drops comments), so none is accepted in NameID or an attribute value.
 */
function refuseCommentsInIdentity(assertion: Element): void {
  for (const el of [
    ...Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'NameID')),
    ...Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'AttributeValue')),
  ]) {
    if (Array.from(el.childNodes).some((n) => n.nodeType === 8)) {
      throw fail('saml_comment_in_identity', plain, 'no XML comment inside NameID or attribute values', {
        received: (el.textContent ?? '').slice(0, 200),
        detail: `in ${el.localName}`,
      });
    }
  }
}

interface VerifiedAssertion {
  /** The assertion as its signature covers it (verified octets, parsed again). */
  assertion: Element;
  /** Which configured IdP certificate verified it. */
  certificateIndex: number;
}

/**
 * Verifies the signatures: the Response's when it carries one (it must then verify too: the envelope
 * holds Destination and InResponseTo), and always the assertion's, decrypting it first when it is
 * encrypted. One parse of the response (inspect) serves every check; see ./saml-signature.ts.
 */
async function verifiedAssertion(
  ctx: Ctx,
  conn: ConnectionRow,
  shape: Shape,
  xml: string,
  certificates: string[],
): Promise<VerifiedAssertion> {
  const normalized = xml.replace(/\r\n?/g, '\n');
  try {
    const response = shape.doc.documentElement as Element;
    verifiedElement(normalized, response, certificates);
    if (!shape.encrypted) {
      const signed = verifiedElement(normalized, shape.assertion, certificates);
      if (!signed) throw new SignatureNotVerified('the assertion carries no signature');
      return { assertion: signedAssertion(signed.xml), certificateIndex: signed.certificateIndex };
    }
    // The SP key is opened only for what is encrypted (unsealing it costs a key lookup).
    const decryptionKey = await spPrivateKey(ctx.db, ctx.config, conn);
    if (decryptionKey === null)
      throw fail('saml_validation_failed', plain, 'an SP key to decrypt the assertion', {
        detail:
          'The identity provider encrypted the assertion, but this connection has no SP private key: create the connection again and give the IdP its new SP metadata, or switch encryption off at the IdP.',
      });
    let decrypted: string;
    try {
      decrypted = (await decryptElement(shape.assertion, decryptionKey)).replace(/\r\n?/g, '\n');
    } catch (err) {
      const message = String((err as Error).message ?? err).slice(0, 200);
      throw /insecure|not secure|algorithm/i.test(message)
        ? fail('saml_insecure_encryption', plain, 'assertion encryption uses RSA-OAEP and AES', { detail: message })
        : fail('saml_validation_failed', plain, "the assertion decrypts with this connection's SP key", {
            detail: `${message}. The identity provider may hold an old SP certificate: give it Palisade's current SP metadata.`,
          });
    }
    const inner = new DOMParser({ onError: onErrorStopParsing }).parseFromString(
      decrypted,
      'text/xml',
    ) as unknown as Document;
    const root = inner.documentElement;
    if (!root || root.localName !== 'Assertion' || root.namespaceURI !== SAML_NS)
      throw fail('saml_malformed', plain, 'the EncryptedAssertion holds one Assertion', {
        received: root?.localName ?? null,
      });
    checkAlgorithms(inner, conn.saml_allow_sha1 === 1, 'the encrypted assertion');
    refuseCommentsInIdentity(root);
    const signed = verifiedElement(decrypted, root, certificates);
    if (!signed) throw new SignatureNotVerified('the encrypted assertion carries no signature');
    return { assertion: signedAssertion(signed.xml), certificateIndex: signed.certificateIndex };
  } catch (err) {
    throw diagnoseSaml(err, ctx, conn, shape.doc);
  }
}

export interface FinishedSaml {
  identity: Identity;
  raw: Record<string, unknown>;
  purpose: 'login' | 'test';
  initiatedBy: string | null;
  /** The NameID Format the IdP sent (persistent NameIDs are matched as the stable subject). */
  nameIdFormat: string | null;
  /** Fingerprint of the configured certificate that verified the assertion (./signing-certificate.ts). */
  signingCertSha256: string | null;
}

export async function finishSaml(
  ctx: Ctx,
  conn: ConnectionRow,
  samlResponse: string,
  opts: { dryRun?: boolean; binding?: string } = {},
): Promise<FinishedSaml> {
  let xml: string;
  try {
    xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  } catch {
    throw fail(
      'saml_malformed',
      'Palisade could not read the answer from your identity provider.',
      'SAMLResponse is base64',
    );
  }
  const shape = inspect(xml, conn);
  const acs = acsUrl(ctx, conn.id);
  if (shape.destination && shape.destination !== acs)
    throw fail('saml_wrong_destination', plain, "Response Destination is this connection's ACS URL", {
      expected: acs,
      received: shape.destination,
    });

  // A replay is named as such before the request id it carries is found spent.
  if (shape.assertionId && !opts.dryRun) {
    const seen = await ctx.db
      .selectFrom('sso_assertion_ids')
      .select('expires_at')
      .where('connection_id', '=', conn.id)
      .where('assertion_id', '=', shape.assertionId)
      .executeTakeFirst();
    if (seen)
      throw fail('saml_assertion_replayed', plain, 'assertion used only once', {
        expected: 'new assertion id',
        received: shape.assertionId,
      });
  }
  let purpose: 'login' | 'test' = 'login';
  let initiatedBy: string | null = null;
  let stateRow: SsoLoginStatesTable | undefined;
  if (opts.dryRun) {
    // The simulator reads a pasted response without spending its request id.
  } else if (!shape.inResponseTo) {
    if (conn.idp_initiated !== 1) {
      throw fail(
        'saml_idp_initiated_disabled',
        'Sign-in must start from Palisade for this organization. Go to Palisade and choose single sign-on.',
        'IdP-initiated login allowed',
        { expected: 'InResponseTo of a Palisade AuthnRequest', received: 'unsolicited response' },
      );
    }
  } else {
    let row;
    try {
      row = await consumeLoginState(ctx.db, ctx, stateKey(shape.inResponseTo), 'InResponseTo');
    } catch (err) {
      if (err instanceof SsoFailure && err.code === 'sso_state_unknown')
        throw fail(
          'saml_in_response_to_invalid',
          err.publicMessage,
          'InResponseTo matches an AuthnRequest Palisade sent',
          { received: shape.inResponseTo.slice(0, 100) },
        );
      throw err;
    }
    if (row.connection_id !== conn.id)
      throw fail('saml_in_response_to_invalid', plain, 'InResponseTo belongs to this connection', {
        expected: conn.id,
        received: row.connection_id,
      });
    purpose = row.purpose;
    initiatedBy = row.initiated_by;
    stateRow = row;
  }

  // Checks on the signed assertion only: the octets the signature covers, parsed again (not the envelope).
  const certificates = JSON.parse(conn.saml_idp_certs ?? '[]') as string[];
  const { assertion, certificateIndex } = await verifiedAssertion(ctx, conn, shape, xml, certificates);
  const wrongIssuer = checkIssuer(issuerOf(assertion), conn.saml_idp_entity_id, 'Assertion', true);
  if (wrongIssuer) throw wrongIssuer;
  const confirmations = checkBearerConfirmation(
    assertion,
    opts.dryRun
      ? assertion.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmationData')[0]?.getAttribute('InResponseTo') || null
      : shape.inResponseTo,
  );
  const recipients = confirmations.map((c) => c.getAttribute('Recipient')).filter((r): r is string => !!r);
  if (!recipients.includes(acs))
    throw fail('saml_wrong_recipient', plain, "SubjectConfirmationData Recipient is this connection's ACS URL", {
      expected: acs,
      received: recipients,
    });
  const conditionsList = directChildren(assertion, SAML_NS, 'Conditions');
  if (conditionsList.length > 1)
    throw fail('saml_validation_failed', plain, 'one Conditions element', {
      expected: 1,
      received: conditionsList.length,
    });
  const conditions = conditionsList[0];
  checkAudience(conditions, spEntityId(ctx, conn.id));
  const now = ctx.clock.now().getTime();
  // The latest start of validity stated (Conditions or the bearer confirmation) is the one that counts.
  const notBefore =
    [conditions?.getAttribute('NotBefore'), ...confirmations.map((c) => c.getAttribute('NotBefore'))]
      .filter((v): v is string => !!v && !Number.isNaN(Date.parse(v)))
      .sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? null;
  // The earliest end of validity the assertion states (Conditions or the bearer confirmation) is the one that counts.
  const ends = [
    conditions?.getAttribute('NotOnOrAfter'),
    ...confirmations.map((c) => c.getAttribute('NotOnOrAfter')),
  ].filter((v): v is string => !!v && !Number.isNaN(Date.parse(v)));
  const notOnOrAfter = ends.sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
  if (notBefore && now + SAML_CLOCK_SKEW_MS < Date.parse(notBefore))
    throw fail('saml_not_yet_valid', plain, 'NotBefore (with clock skew)', {
      expected: `after ${notBefore}`,
      received: new Date(now).toISOString(),
    });
  if (!notOnOrAfter) throw fail('saml_no_expiry', plain, 'assertion has NotOnOrAfter', { received: null });
  if (now - SAML_CLOCK_SKEW_MS >= Date.parse(notOnOrAfter))
    throw fail('saml_assertion_expired', plain, 'NotOnOrAfter (with clock skew)', {
      expected: `before ${notOnOrAfter}`,
      received: new Date(now).toISOString(),
    });
  checkLifetime(assertion, notOnOrAfter, now, SAML_CLOCK_SKEW_MS, ctx.config.samlMaxAssertionLifetimeMinutes);

  // Checked once the IdP's answer is proven valid, so attacks on it get their own diagnosis first.
  if (stateRow) assertSameBrowser(stateRow, opts.binding);
  const assertionId = assertion.getAttribute('ID') ?? '';
  const profile = await profileOf(assertion, () => spPrivateKey(ctx.db, ctx.config, conn));
  const { attributes, nameId } = profile;
  const raw = { ...attributes, nameID: nameId };
  const proof = {
    nameIdFormat: profile.nameIdFormat,
    signingCertSha256: fingerprintOf(certificates[certificateIndex] as string),
  };
  if (opts.dryRun)
    return {
      identity: identityFrom(attributes, claimNames(conn), `${profile.issuer}|${nameId}`, nameId),
      raw,
      purpose,
      initiatedBy,
      ...proof,
    };
  const inserted = await ctx.db
    .insertInto('sso_assertion_ids')
    .values({
      connection_id: conn.id,
      assertion_id: assertionId,
      expires_at: new Date(Date.parse(notOnOrAfter) + SAML_CLOCK_SKEW_MS).toISOString(),
    })
    .onConflict((oc) => oc.columns(['connection_id', 'assertion_id']).doNothing())
    .returning('assertion_id')
    .executeTakeFirst();
  if (!inserted)
    throw fail('saml_assertion_replayed', plain, 'assertion used only once', {
      expected: 'new assertion id',
      received: assertionId,
    });

  return {
    identity: identityFrom(attributes, claimNames(conn), `${profile.issuer}|${nameId}`, nameId),
    raw,
    purpose,
    initiatedBy,
    ...proof,
  };
}

function diagnoseSaml(err: unknown, ctx: Ctx, conn: ConnectionRow, doc: Document): SsoFailure {
  if (err instanceof SsoFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SignatureWrapping)
    return fail(
      'saml_signature_wrapping',
      plain,
      'one enveloped signature whose reference names the signed element only (signature wrapping)',
      { detail: message.slice(0, 200) },
    );
  if (/No valid subject confirmation/i.test(message))
    return fail('saml_assertion_expired', plain, 'SubjectConfirmationData NotBefore/NotOnOrAfter (with clock skew)', {
      detail: message.slice(0, 200),
    });
  if (/Invalid signature|invalid document signature|signature/i.test(message)) {
    // Which certificate signed, and whether Palisade has it: the first question after an IdP's certificate rollover.
    const signer = signingCertificateOf(doc, JSON.parse(conn.saml_idp_certs ?? '[]') as string[]);
    return fail('saml_bad_signature', plain, "signature verifies with the connection's IdP certificate(s)", {
      expected: signer.configuredSha256,
      received: { signingCertificateSha256: signer.embeddedSha256, matchesConfigured: signer.embeddedIsConfigured },
      detail: `${describeSigningCertificate(signer)} (${message.slice(0, 120)})`,
    });
  }
  if (/audience/i.test(message))
    return fail('saml_wrong_audience', plain, "AudienceRestriction names Palisade's entity id", {
      expected: spEntityId(ctx, conn.id),
      detail: message.slice(0, 300),
    });
  if (/expired/i.test(message))
    return fail('saml_assertion_expired', plain, 'NotOnOrAfter (with clock skew)', { detail: message.slice(0, 200) });
  if (/not yet valid/i.test(message))
    return fail('saml_not_yet_valid', plain, 'NotBefore (with clock skew)', { detail: message.slice(0, 200) });
  if (/issuer/i.test(message))
    return fail('saml_wrong_issuer', plain, 'Issuer is the IdP entity id', {
      expected: conn.saml_idp_entity_id,
      detail: message.slice(0, 300),
    });
  if (/InResponseTo/i.test(message))
    return fail('saml_in_response_to_invalid', plain, 'InResponseTo matches an AuthnRequest Palisade sent', {
      detail: message.slice(0, 200),
    });
  if (/^SAML provider returned|status/i.test(message))
    return fail('saml_idp_error', 'Your identity provider did not sign you in.', 'Response status is Success', {
      detail: message.slice(0, 200),
    });
  return fail('saml_validation_failed', plain, 'SAML response validation', { detail: message.slice(0, 200) });
}
