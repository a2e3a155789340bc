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
/** Palisade's own read-only extension on a user that has no Palisade account yet: why, and what brings it. */
export const ACCOUNT_SCHEMA = 'urn:palisade:scim:schemas:extension:account:1.0:User';
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
  description?: string;
}

const s = (name: string, extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'string', ...extra });
const b = (name: string): AttrDef => ({ name, type: 'boolean' });
const ref = (name: string, referenceTypes: string[], extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'reference', referenceTypes, ...extra });
const multi = (name: string, types: string[], value: AttrDef = s('value')): AttrDef => ({
  name,
  type: 'complex',
  multiValued: true,
  subAttributes: [value, s('display'), s('type', { canonicalValues: types }), b('primary')],
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
  ref('profileUrl', ['external']),
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
  multi('photos', ['photo', 'thumbnail'], ref('value', ['external'])),
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
    subAttributes: [
      s('value', { mutability: 'readOnly' }),
      ref('$ref', ['User', 'Group'], { mutability: 'readOnly' }),
      s('display', { mutability: 'readOnly' }),
      s('type', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
    ],
  },
  multi('entitlements', []),
  multi('roles', []),
  multi('x509Certificates', [], { name: 'value', type: 'binary' }),
];

export const ENTERPRISE_ATTRIBUTES: AttrDef[] = [
  s('employeeNumber'),
  s('costCenter'),
  s('organization'),
  s('division'),
  s('department'),
  { name: 'manager', type: 'complex', subAttributes: [s('value'), ref('$ref', ['User']), s('displayName', { mutability: 'readOnly' })] },
];

const readOnly = (name: string, description: string, extra: Partial<AttrDef> = {}): AttrDef => s(name, { mutability: 'readOnly', description, ...extra });

/** MAPPING_SCHEMA: computed by Palisade on every read, never written by a client. */
export const MAPPING_ATTRIBUTES: AttrDef[] = [
  readOnly('outcome', 'How the group name meets the organization\'s group-to-role mapping.', { canonicalValues: ['matched', 'no_rule', 'missing_prefix'] }),
  readOnly('role', 'The Palisade role the group grants (null when it grants none).', { canonicalValues: ['primary_owner', 'admin', 'member'] }),
  readOnly('expectedName', 'The name the group should have to match a rule, when it misses only the required prefix.'),
  readOnly('explanation', 'The outcome in words, with the fix.'),
];

/** ACCOUNT_SCHEMA: present while the user has no Palisade account (no usable email address yet). */
export const ACCOUNT_ATTRIBUTES: AttrDef[] = [
  readOnly('status', 'Whether the person can sign in to Palisade.', { canonicalValues: ['awaiting_email'] }),
  readOnly('explanation', 'Why the person cannot sign in yet, and what fixes it.'),
];

export const GROUP_ATTRIBUTES: AttrDef[] = [
  s('displayName', { required: true }),
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    subAttributes: [s('value', { mutability: 'immutable' }), ref('$ref', ['User', 'Group'], { mutability: 'immutable' }), s('display'), s('type', { canonicalValues: ['User', 'Group'] })],
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
    subAttributes: [
      s('resourceType', { mutability: 'readOnly', caseExact: true }),
      { name: 'created', type: 'dateTime', mutability: 'readOnly' },
      { name: 'lastModified', type: 'dateTime', mutability: 'readOnly' },
      ref('location', ['uri'], { mutability: 'readOnly' }),
      s('version', { mutability: 'readOnly', caseExact: true }),
    ],
  },
];

export type ResourceKind = 'User' | 'Group';

export interface SchemaSet {
  core: string;
  attributes: AttrDef[];
  extensions: Record<string, AttrDef[]>;
  /** Extensions Palisade computes: clients may echo them back (ignored), never change them. */
  readOnlyExtensions: ReadonlySet<string>;
}

export const SCHEMA_SETS: Record<ResourceKind, SchemaSet> = {
  User: {
    core: USER_SCHEMA,
    attributes: [...COMMON_ATTRIBUTES, ...USER_ATTRIBUTES],
    extensions: { [ENTERPRISE_SCHEMA]: ENTERPRISE_ATTRIBUTES, [ACCOUNT_SCHEMA]: ACCOUNT_ATTRIBUTES },
    readOnlyExtensions: new Set([ACCOUNT_SCHEMA]),
  },
  Group: { core: GROUP_SCHEMA, attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES], extensions: { [MAPPING_SCHEMA]: MAPPING_ATTRIBUTES }, readOnlyExtensions: new Set([MAPPING_SCHEMA]) },
};

/** The schema URN a path or key names as a whole (core or an extension), in its canonical casing. */
export function schemaUrnOf(set: SchemaSet, raw: string): string | undefined {
  const k = raw.trim().toLowerCase();
  if (k === set.core.toLowerCase()) return set.core;
  return findExtension(set, raw.trim());
}

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
    description: d.description ?? DESCRIPTIONS[d.name] ?? `The ${d.name} attribute.`,
    required: d.required ?? false,
    ...(d.type === 'string' || d.type === 'reference' || d.type === 'binary' ? { caseExact: d.caseExact ?? (d.type !== 'string') } : {}),
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
      ...['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag'].map(
        (n): AttrDef => ({ name: n, type: 'complex', required: true, mutability: 'readOnly', subAttributes: [{ name: 'supported', type: 'boolean', required: true, mutability: 'readOnly' }] }),
      ),
      {
        name: 'authenticationSchemes',
        type: 'complex',
        multiValued: true,
        required: true,
        mutability: 'readOnly',
        subAttributes: [s('type', { required: true, mutability: 'readOnly' }), s('name', { required: true, mutability: 'readOnly' }), s('description', { required: true, mutability: 'readOnly' }), ref('specUri', ['external'], { mutability: 'readOnly' }), ref('documentationUri', ['external'], { mutability: 'readOnly' })],
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
      { name: 'schemaExtensions', type: 'complex', multiValued: true, mutability: 'readOnly', subAttributes: [ref('schema', ['uri'], { required: true, mutability: 'readOnly', caseExact: true }), { name: 'required', type: 'boolean', required: true, mutability: 'readOnly' }] },
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
          s('type', { required: true, mutability: 'readOnly', canonicalValues: ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'] }),
          { name: 'multiValued', type: 'boolean', required: true, mutability: 'readOnly' },
          s('description', { mutability: 'readOnly' }),
          { name: 'required', type: 'boolean', mutability: 'readOnly' },
          s('canonicalValues', { multiValued: true, mutability: 'readOnly' }),
          { name: 'caseExact', type: 'boolean', mutability: 'readOnly' },
          s('mutability', { mutability: 'readOnly', canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] }),
          s('returned', { mutability: 'readOnly', canonicalValues: ['always', 'never', 'default', 'request'] }),
          s('uniqueness', { mutability: 'readOnly', canonicalValues: ['none', 'server', 'global'] }),
          s('referenceTypes', { multiValued: true, mutability: 'readOnly' }),
          { name: 'subAttributes', type: 'complex', multiValued: true, mutability: 'readOnly', subAttributes: [s('name', { required: true, mutability: 'readOnly', caseExact: true }), s('type', { required: true, mutability: 'readOnly' })] },
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
  { id: ACCOUNT_SCHEMA, name: 'PalisadeAccount', description: 'Palisade account state of a user that cannot sign in yet (read-only, computed by Palisade)', attributes: ACCOUNT_ATTRIBUTES },
  { id: MAPPING_SCHEMA, name: 'PalisadeRoleMapping', description: 'How the group maps to a Palisade role under the organization\'s mapping (read-only, computed by Palisade)', attributes: MAPPING_ATTRIBUTES },
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

const extensionsOf = (kind: ResourceKind) => Object.keys(SCHEMA_SETS[kind].extensions).map((schema) => ({ schema, required: false }));

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
