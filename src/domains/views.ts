import { Type, type Static } from '@sinclair/typebox';
import type { PalisadeConfig } from '../config.js';
import { type Diagnosis, MAX_SHOWN } from './diagnosis.js';
import type { Domain } from './tables.js';

export const RECORD_TTL = 3600;

export const InstructionsView = Type.Object({
  recordType: Type.Literal('TXT'),
  recordName: Type.String({ description: 'Fully qualified name of the TXT record, without trailing dot.' }),
  value: Type.String({ description: 'The exact text to publish, in one string.' }),
  ttl: Type.Integer(),
  zoneFileLine: Type.String({ description: 'The same record as one line of a BIND zone file.' }),
  summary: Type.String(),
});
export type InstructionsView = Static<typeof InstructionsView>;

export const FoundValueView = Type.Object({
  value: Type.String(),
  strings: Type.Array(Type.String()),
  nearMiss: Type.Array(Type.String()),
});

const DiagnosisFields = {
  code: Type.String({
    description:
      'verified | record_name_not_found | no_txt_records | value_mismatch | cname_elsewhere | cname_loop | dns_timeout | dns_server_failure | dns_resolver_failure',
  }),
  ok: Type.Boolean(),
  domain: Type.String(),
  recordType: Type.Literal('TXT'),
  recordName: Type.String(),
  expectedValue: Type.String(),
  found: Type.Array(FoundValueView, {
    description: `The TXT records found (at most ${MAX_SHOWN} shown, near misses first); every record was compared.`,
  }),
  foundTotal: Type.Optional(Type.Integer({ description: 'How many TXT records the name has in all.' })),
  cnameTarget: Type.Union([Type.String(), Type.Null()]),
  cnameChain: Type.Optional(
    Type.Array(Type.String(), { description: 'Aliases followed from the record name, in order.' }),
  ),
  elsewhere: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        kind: Type.String({ description: 'apex | missing_underscore | prefix_variant | doubled_zone | parent_domain' }),
        nearMiss: Type.Array(Type.String()),
      }),
      {
        description:
          'The expected value found where it does not count (the zone apex, a mistyped record name, the domain doubled by a DNS console).',
      },
    ),
  ),
  dnsSide: Type.Boolean(),
  responsibility: Type.Optional(
    Type.Union([Type.Literal('palisade_resolver'), Type.Literal('domain_name_servers'), Type.Null()], {
      description: "DNS-side failures: Palisade's resolver, or the domain's name servers.",
    }),
  ),
  resolvers: Type.Optional(
    Type.Array(Type.Object({ server: Type.String(), outcome: Type.String(), detail: Type.Optional(Type.String()) }), {
      description: 'DNS-side failures: each resolver asked and how it failed.',
    }),
  ),
  message: Type.String(),
  checkedAt: Type.String(),
};

export const DiagnosisView = Type.Object({
  ...DiagnosisFields,
  lastVerdict: Type.Optional(
    Type.Union([Type.Object(DiagnosisFields), Type.Null()], {
      description: 'With a DNS-side failure: the last real verdict before it, which still stands.',
    }),
  ),
});

const NullableString = Type.Union([Type.String(), Type.Null()]);

export const DomainView = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  domain: Type.String({ description: 'ASCII (punycode) form.' }),
  unicodeDomain: Type.String(),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('verified'),
    Type.Literal('failing'),
    Type.Literal('expired'),
  ]),
  includeSubdomains: Type.Boolean(),
  autoJoin: Type.Boolean({
    description: 'People at this domain who sign in join the organization as members (while the domain captures).',
  }),
  capturesLogins: Type.Boolean({
    description: 'True while verified or failing: people with an email at this domain are routed to this organization.',
  }),
  instructions: InstructionsView,
  verifiedAt: NullableString,
  lastCheckedAt: NullableString,
  lastGoodCheckAt: NullableString,
  failingSince: NullableString,
  graceUntil: NullableString,
  expiredAt: NullableString,
  lastDiagnosis: Type.Union([DiagnosisView, Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type DomainView = Static<typeof DomainView>;

export function recordNameFor(config: Pick<PalisadeConfig, 'domainRecordPrefix'>, domain: string): string {
  return `${config.domainRecordPrefix}.${domain}`;
}

export function instructionsFor(
  config: Pick<PalisadeConfig, 'domainRecordPrefix'>,
  d: Pick<Domain, 'name' | 'token'>,
): InstructionsView {
  const recordName = recordNameFor(config, d.name);
  return {
    recordType: 'TXT',
    recordName,
    value: d.token,
    ttl: RECORD_TTL,
    zoneFileLine: `${recordName}. ${RECORD_TTL} IN TXT "${d.token}"`,
    summary: `At your DNS provider, add a TXT record named ${recordName} (some consoles want only "${recordName.slice(0, -(d.name.length + 1))}" in the zone ${d.name}) with the value ${d.token} as one string, then call verify. Keep the record in place: Palisade checks it again regularly.`,
  };
}

export function domainView(config: Pick<PalisadeConfig, 'domainRecordPrefix'>, d: Domain): DomainView {
  return {
    id: d.id,
    orgId: d.org_id,
    domain: d.name,
    unicodeDomain: d.unicode_name,
    status: d.status,
    includeSubdomains: Number(d.include_subdomains) === 1,
    autoJoin: Number(d.auto_join) === 1,
    capturesLogins: d.status === 'verified' || d.status === 'failing',
    instructions: instructionsFor(config, d),
    verifiedAt: d.verified_at,
    lastCheckedAt: d.last_checked_at,
    lastGoodCheckAt: d.last_good_check_at,
    failingSince: d.failing_since,
    graceUntil: d.grace_until,
    expiredAt: d.expired_at,
    lastDiagnosis: d.last_diagnosis ? (JSON.parse(d.last_diagnosis) as Diagnosis) : null,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
  };
}
