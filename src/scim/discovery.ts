import {
  ACCOUNT_ATTRIBUTES,
  ACCOUNT_SCHEMA,
  type AttrDef,
  ENTERPRISE_ATTRIBUTES,
  ENTERPRISE_SCHEMA,
  GROUP_ATTRIBUTES,
  GROUP_SCHEMA,
  MAPPING_ATTRIBUTES,
  MAPPING_SCHEMA,
  MAX_RESULTS,
  type ResourceKind,
  SCHEMA_SETS,
  USER_ATTRIBUTES,
  USER_SCHEMA,
  ref,
  s,
} from './schemas.js';

/**
 * The discovery documents (RFC 7643 §5-7, RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and
 * /Schemas, all generated from the schema definitions in ./schemas.ts, so what a client discovers is
 * what Palisade validates.
 */
function attributeDoc(d: AttrDef): Record<string, unknown> {
  return {
    name: d.name,
    type: d.type,
    multiValued: d.multiValued ?? false,
    description: d.description ?? DESCRIPTIONS[d.name] ?? `The ${d.name} attribute.`,
    required: d.required ?? false,
    ...(d.type === 'string' || d.type === 'reference' || d.type === 'binary'
      ? { caseExact: d.caseExact ?? d.type !== 'string' }
      : {}),
    mutability: d.mutability ?? 'readWrite',
    returned: d.returned ?? 'default',
    uniqueness: d.uniqueness ?? 'none',
    ...(d.canonicalValues && d.canonicalValues.length ? { canonicalValues: d.canonicalValues } : {}),
    // RFC 7643 §7: every reference attribute says what it may point to; clients build their models from it.
    ...(d.type === 'reference' ? { referenceTypes: d.referenceTypes ?? ['external'] } : {}),
    ...(d.subAttributes ? { subAttributes: d.subAttributes.map(attributeDoc) } : {}),
  };
}

const DESCRIPTIONS: Record<string, string> = {
  id: 'Unique identifier of the resource, issued by Palisade.',
  externalId: 'Identifier of the resource in the identity provider; not unique.',
  meta: 'Resource metadata.',
  userName: 'Unique identifier of the user in this directory, usually an email address; case-insensitive.',
  displayName: 'Name shown to people.',
  active: 'Whether the person may use Palisade; false suspends the membership.',
  emails: 'Email addresses; the primary (else work, else first) address identifies the Palisade account.',
  members: 'Users in the group (nested groups are not supported).',
  groups: 'Groups the user belongs to, maintained through the Group resources.',
  value: 'The value.',
  $ref: 'URI of the resource the value identifies.',
  display: 'Human-readable name of the value.',
  type: 'The kind of value.',
  primary: 'Whether this is the primary value; at most one value is primary.',
};

type SchemaDoc = { id: string; name: string; description: string; attributes: AttrDef[] };

/**
 * Schemas of the discovery resources themselves (RFC 7643 §5-7): clients such as scim2-tester
 * require them on /Schemas. Described at the depth clients read them.
 */
const DISCOVERY_SCHEMAS: SchemaDoc[] = [
  {
    id: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
    name: 'ServiceProviderConfig',
    description: 'Service Provider Configuration',
    attributes: [
      ref('documentationUri', ['external'], { mutability: 'readOnly' }),
      ...['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag'].map((n): AttrDef => ({
        name: n,
        type: 'complex',
        required: true,
        mutability: 'readOnly',
        subAttributes: [{ name: 'supported', type: 'boolean', required: true, mutability: 'readOnly' }],
      })),
      {
        name: 'authenticationSchemes',
        type: 'complex',
        multiValued: true,
        required: true,
        mutability: 'readOnly',
        subAttributes: [
          s('type', { required: true, mutability: 'readOnly' }),
          s('name', { required: true, mutability: 'readOnly' }),
          s('description', { required: true, mutability: 'readOnly' }),
          ref('specUri', ['external'], { mutability: 'readOnly' }),
          ref('documentationUri', ['external'], { mutability: 'readOnly' }),
        ],
      },
    ],
  },
  {
    id: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
    name: 'ResourceType',
    description: 'Resource Type',
    attributes: [
      s('id', { mutability: 'readOnly' }),
      s('name', { required: true, mutability: 'readOnly' }),
      s('description', { mutability: 'readOnly' }),
      ref('endpoint', ['uri'], { required: true, mutability: 'readOnly' }),
      ref('schema', ['uri'], { required: true, mutability: 'readOnly', caseExact: true }),
      {
        name: 'schemaExtensions',
        type: 'complex',
        multiValued: true,
        mutability: 'readOnly',
        subAttributes: [
          ref('schema', ['uri'], { required: true, mutability: 'readOnly', caseExact: true }),
          { name: 'required', type: 'boolean', required: true, mutability: 'readOnly' },
        ],
      },
    ],
  },
  {
    id: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
    name: 'Schema',
    description: 'Specifies the schema attribute',
    attributes: [
      s('id', { required: true, mutability: 'readOnly' }),
      s('name', { mutability: 'readOnly' }),
      s('description', { mutability: 'readOnly' }),
      {
        name: 'attributes',
        type: 'complex',
        multiValued: true,
        required: true,
        mutability: 'readOnly',
        subAttributes: [
          s('name', { required: true, mutability: 'readOnly', caseExact: true }),
          s('type', {
            required: true,
            mutability: 'readOnly',
            canonicalValues: ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'],
          }),
          { name: 'multiValued', type: 'boolean', required: true, mutability: 'readOnly' },
          s('description', { mutability: 'readOnly' }),
          { name: 'required', type: 'boolean', mutability: 'readOnly' },
          s('canonicalValues', { multiValued: true, mutability: 'readOnly' }),
          { name: 'caseExact', type: 'boolean', mutability: 'readOnly' },
          s('mutability', {
            mutability: 'readOnly',
            canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'],
          }),
          s('returned', { mutability: 'readOnly', canonicalValues: ['always', 'never', 'default', 'request'] }),
          s('uniqueness', { mutability: 'readOnly', canonicalValues: ['none', 'server', 'global'] }),
          s('referenceTypes', { multiValued: true, mutability: 'readOnly' }),
          {
            name: 'subAttributes',
            type: 'complex',
            multiValued: true,
            mutability: 'readOnly',
            subAttributes: [
              s('name', { required: true, mutability: 'readOnly', caseExact: true }),
              s('type', { required: true, mutability: 'readOnly' }),
            ],
          },
        ],
      },
    ],
  },
];

/** Every schema Palisade serves: the resources', their extensions (Palisade's read-only ones included) and the discovery schemas. */
export const SCHEMA_DOCS: SchemaDoc[] = [
  { id: USER_SCHEMA, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES },
  { id: GROUP_SCHEMA, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES },
  { id: ENTERPRISE_SCHEMA, name: 'EnterpriseUser', description: 'Enterprise User', attributes: ENTERPRISE_ATTRIBUTES },
  {
    id: ACCOUNT_SCHEMA,
    name: 'PalisadeAccount',
    description: 'Palisade account state of a user that cannot sign in yet (read-only, computed by Palisade)',
    attributes: ACCOUNT_ATTRIBUTES,
  },
  {
    id: MAPPING_SCHEMA,
    name: 'PalisadeRoleMapping',
    description:
      "How the group maps to a Palisade role under the organization's mapping (read-only, computed by Palisade)",
    attributes: MAPPING_ATTRIBUTES,
  },
  ...DISCOVERY_SCHEMAS,
];

export function schemaDocs(base: string): Record<string, unknown>[] {
  return SCHEMA_DOCS.map((d) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: d.id,
    name: d.name,
    description: d.description,
    attributes: d.attributes.map(attributeDoc),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${d.id}` },
  }));
}

const extensionsOf = (kind: ResourceKind) =>
  Object.keys(SCHEMA_SETS[kind].extensions).map((schema) => ({ schema, required: false }));

export function resourceTypeDocs(base: string): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER_SCHEMA,
      schemaExtensions: extensionsOf('User'),
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP_SCHEMA,
      schemaExtensions: extensionsOf('Group'),
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

export function serviceProviderConfig(base: string): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://github.com/palisade/palisade#scim-provisioning',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'The directory token shown once when the SCIM directory was created or rotated in Palisade.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}
