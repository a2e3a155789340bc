/** What a compliance key may do. Each /v1/compliance/ endpoint names exactly one scope. */
export const SCOPES = {
  'read:compliance_activities': 'Read the activity feed: the audit events of the organization tree.',
  'read:compliance_directory':
    'Read organizations, their members (role, status, SSO/SCIM source, last sign-in), groups and roles.',
  'read:compliance_user_data':
    'Read conversations, messages and files (decrypted), and export everything held about one person.',
  'delete:compliance_user_data': 'Delete conversations and files (refused while a legal hold covers them).',
  'read:compliance_usage': 'Read token usage per user, model and day or hour.',
} as const;

export type Scope = keyof typeof SCOPES;
export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

export function isScope(value: string): value is Scope {
  return value in SCOPES;
}
