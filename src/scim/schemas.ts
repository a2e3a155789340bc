/**
 * The SCIM schemas Palisade serves (RFC 7643 §4, §8.7): one definition used for /Schemas, for
 * canonical attribute casing (attribute names are case-insensitive), for type coercion in PATCH
 * (Entra sends booleans as "False") and for the `returned`/`mutability` rules.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Palisade's own read-only extension: how a group maps to a role, and why. */
export const MAPPING_SCHEMA = 'urn:palisade:scim:schemas:extension:mapping:1.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned?: 'always' | 'never' | 'default' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  subAttributes?: AttrDef[];
  canonicalValues?: string[];
  referenceTypes?: string[];
}

const s = (name: string, extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'string', ...extra });
const b = (name: string): AttrDef => ({ name, type: 'boolean' });
const multi = (name: string, types: string[], extra: AttrDef[] = []): AttrDef => ({
  name,
  type: 'complex',
  multiValued: true,
  subAttributes: [s('value'), s('display'), s('type', { canonicalValues: types }), b('primary'), ...extra],
});

export const USER_ATTRIBUTES: AttrDef[] = [
  s('userName', { required: true, uniqueness: 'server' }),
  {
    name: 'name',
    type: 'complex',
    subAttributes: [s('formatted'), s('familyName'), s('givenName'), s('middleName'), s('honorificPrefix'), s('honorificSuffix')],
  },
  s('displayName'),
  s('nickName'),
  { name: 'profileUrl', type: 'reference', referenceTypes: ['external'] },
  s('title'),
  s('userType'),
  s('preferredLanguage'),
  s('locale'),
  s('timezone'),
  b('active'),
  s('password', { mutability: 'writeOnly', returned: 'never' }),
  multi('emails', ['work', 'home', 'other']),
  multi('phoneNumbers', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  multi('ims', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
  multi('photos', ['photo', 'thumbnail']),
  {
    name: 'addresses',
    type: 'complex',
    multiValued: true,
    subAttributes: [s('formatted'), s('streetAddress'), s('locality'), s('region'), s('postalCode'), s('country'), s('type', { canonicalValues: ['work', 'home', 'other'] }), b('primary')],
  },
  {
    name: 'groups',
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [s('value', { mutability: 'readOnly' }), { name: '$ref', type: 'reference', mutability: 'readOnly' }, s('display', { mutability: 'readOnly' }), s('type', { mutability: 'readOnly' })],
  },
  multi('entitlements', []),
  multi('roles', []),
  multi('x509Certificates', []),
];

export const ENTERPRISE_ATTRIBUTES: AttrDef[] = [
  s('employeeNumber'),
  s('costCenter'),
  s('organization'),
  s('division'),
  s('department'),
  { name: 'manager', type: 'complex', subAttributes: [s('value'), { name: '$ref', type: 'reference' }, s('displayName', { mutability: 'readOnly' })] },
];

export const GROUP_ATTRIBUTES: AttrDef[] = [
  s('displayName', { required: true }),
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    subAttributes: [s('value', { mutability: 'immutable' }), { name: '$ref', type: 'reference', mutability: 'immutable' }, s('display'), s('type', { canonicalValues: ['User', 'Group'] })],
  },
];

/** Attributes common to every resource (RFC 7643 §3.1). */
export const COMMON_ATTRIBUTES: AttrDef[] = [
  s('id', { mutability: 'readOnly', returned: 'always', caseExact: true }),
  s('externalId', { caseExact: true }),
  {
    name: 'meta',
    type: 'complex',
    mutability: 'readOnly',
    subAttributes: [s('resourceType'), { name: 'created', type: 'dateTime' }, { name: 'lastModified', type: 'dateTime' }, { name: 'location', type: 'reference' }, s('version')],
  },
];

export type ResourceKind = 'User' | 'Group';

export interface SchemaSet {
  core: string;
  attributes: AttrDef[];
  extensions: Record<string, AttrDef[]>;
}

export const SCHEMA_SETS: Record<ResourceKind, SchemaSet> = {
  User: { core: USER_SCHEMA, attributes: [...COMMON_ATTRIBUTES, ...USER_ATTRIBUTES], extensions: { [ENTERPRISE_SCHEMA]: ENTERPRISE_ATTRIBUTES } },
  Group: { core: GROUP_SCHEMA, attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES], extensions: {} },
};

export function findAttr(defs: AttrDef[] | undefined, name: string): AttrDef | undefined {
  if (!defs) return undefined;
  const k = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === k);
}

/** Matches a schema URN case-insensitively; returns the canonical URN. */
export function findExtension(set: SchemaSet, urn: string): string | undefined {
  const k = urn.toLowerCase();
  return Object.keys(set.extensions).find((u) => u.toLowerCase() === k);
}

// ---- discovery documents ----------------------------------------------------------------------

function attributeDoc(d: AttrDef): Record<string, unknown> {
  return {
    name: d.name,
    type: d.type,
    multiValued: d.multiValued ?? false,
    description: d.name,
    required: d.required ?? false,
    caseExact: d.caseExact ?? false,
    mutability: d.mutability ?? 'readWrite',
    returned: d.returned ?? 'default',
    uniqueness: d.uniqueness ?? 'none',
    ...(d.canonicalValues && d.canonicalValues.length ? { canonicalValues: d.canonicalValues } : {}),
    ...(d.referenceTypes ? { referenceTypes: d.referenceTypes } : {}),
    ...(d.subAttributes ? { subAttributes: d.subAttributes.map(attributeDoc) } : {}),
  };
}

export function schemaDocs(base: string): Record<string, unknown>[] {
  const doc = (id: string, name: string, description: string, attrs: AttrDef[]) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id,
    name,
    description,
    attributes: attrs.map(attributeDoc),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  });
  return [
    doc(USER_SCHEMA, 'User', 'User Account', USER_ATTRIBUTES),
    doc(GROUP_SCHEMA, 'Group', 'Group', GROUP_ATTRIBUTES),
    doc(ENTERPRISE_SCHEMA, 'EnterpriseUser', 'Enterprise User', ENTERPRISE_ATTRIBUTES),
  ];
}

export function resourceTypeDocs(base: string): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP_SCHEMA,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

export const MAX_RESULTS = 1000;
export const MAX_PATCH_OPERATIONS = 1000;

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
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'The directory token shown once when the SCIM directory was created or rotated in Palisade.', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}
