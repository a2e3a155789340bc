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

export const s = (name: string, extra: Partial<AttrDef> = {}): AttrDef => ({ name, type: 'string', ...extra });
const b = (name: string): AttrDef => ({ name, type: 'boolean' });
export const ref = (name: string, referenceTypes: string[], extra: Partial<AttrDef> = {}): AttrDef => ({
  name,
  type: 'reference',
  referenceTypes,
  ...extra,
});
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
    subAttributes: [
      s('formatted'),
      s('familyName'),
      s('givenName'),
      s('middleName'),
      s('honorificPrefix'),
      s('honorificSuffix'),
    ],
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
    subAttributes: [
      s('formatted'),
      s('streetAddress'),
      s('locality'),
      s('region'),
      s('postalCode'),
      s('country'),
      s('type', { canonicalValues: ['work', 'home', 'other'] }),
      b('primary'),
    ],
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
  {
    name: 'manager',
    type: 'complex',
    subAttributes: [s('value'), ref('$ref', ['User']), s('displayName', { mutability: 'readOnly' })],
  },
];

const readOnly = (name: string, description: string, extra: Partial<AttrDef> = {}): AttrDef =>
  s(name, { mutability: 'readOnly', description, ...extra });

/** MAPPING_SCHEMA: computed by Palisade on every read, never written by a client. */
export const MAPPING_ATTRIBUTES: AttrDef[] = [
  readOnly('outcome', "How the group name meets the organization's group-to-role mapping.", {
    canonicalValues: ['matched', 'no_rule', 'missing_prefix'],
  }),
  readOnly('role', 'The Palisade role the group grants (null when it grants none).', {
    canonicalValues: ['primary_owner', 'admin', 'member'],
  }),
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
    subAttributes: [
      s('value', { mutability: 'immutable' }),
      ref('$ref', ['User', 'Group'], { mutability: 'immutable' }),
      s('display'),
      s('type', { canonicalValues: ['User', 'Group'] }),
    ],
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
  Group: {
    core: GROUP_SCHEMA,
    attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES],
    extensions: { [MAPPING_SCHEMA]: MAPPING_ATTRIBUTES },
    readOnlyExtensions: new Set([MAPPING_SCHEMA]),
  },
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

export const MAX_RESULTS = 1000;
export const MAX_PATCH_OPERATIONS = 1000;
