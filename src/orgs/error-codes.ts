import type { ErrorCodeCatalog } from '../errors.js';

/** Organizations, members and roles (authorization here, the operations in src/membership/): each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const ORGS_ERROR_CODES = {
  account_not_managed: {
    status: 403,
    message:
      '…\'s password belongs to them: … is not a domain this organization verified, so only they can reset it ("Forgot password" on the sign-in page). Verify … under Domains to manage the accounts there.',
  },
  already_initialized: {
    status: 409,
    message: 'Palisade already has organizations. Use `palisade org create` to add another, or sign in at /login.',
  },
  already_member: {
    status: 409,
    message: '… is already … this organization as …. Change their role instead of inviting again.',
  },
  duplicate_group_rule: {
    status: 400,
    message:
      'Group "…" has more than one rule (also "…"; names match without regard to case). Keep one rule per group.',
  },
  email_unverified: {
    status: 403,
    message:
      'Confirm that … is yours before joining another organization: request a link with POST /api/v1/me/email-verification (or "Send verification email" on the Invitations page), open it, then accept again.',
  },
  group_missing_prefix: {
    status: 400,
    message:
      'Group "…" does not match the required "…" prefix. Use "…" (and name the group so in your identity provider), or change the required prefix.',
  },
  invalid_group_name: {
    status: 400,
    message: 'A rule has an empty group name; give the exact group name your identity provider sends.',
  },
  invalid_name: { status: 400, message: 'Give the organization a name that is not only spaces.' },
  invalid_prefix: { status: 400, message: 'The required prefix cannot be only spaces; use null for no prefix.' },
  invitation_pending: {
    status: 409,
    message:
      '… has not accepted the invitation yet; the membership becomes active when they do. Send a new invitation if the link expired.',
  },
  invite_link_not_allowed: {
    status: 403,
    message:
      'A link that sets a password is delivered to … itself, never shown to an admin, unless … is a domain this organization verified (then it manages those accounts). Send the invitation by email (leave out "delivery"), or verify … under Domains first.',
  },
  last_primary_owner: {
    status: 409,
    message:
      'This is the last active primary owner of the organization. Promote another member to primary owner first, then try again.',
  },
  member_suspended: {
    status: 409,
    message:
      '… is a member of this organization whose access is suspended by SCIM provisioning (deactivated in the identity provider). Reactivate them in the identity provider instead of inviting them again.',
  },
  membership_suspended: {
    status: 403,
    message:
      'Your membership in this organization is suspended, so it grants nothing here until it is reactivated. Ask an administrator of the organization (if your identity provider deactivated you, it is reactivated there).',
  },
  member_not_suspended: {
    status: 409,
    message: '… is not suspended (their membership is …); there is nothing to reactivate.',
  },
  already_suspended: {
    status: 409,
    message: '… is already suspended by …. Reactivate them first if you meant to change who holds the suspension.',
  },
  cannot_suspend_self: {
    status: 409,
    message:
      'You cannot suspend your own membership: you would lose access at once with nobody having decided it. Ask another admin or primary owner, or leave the organization instead.',
  },
  invitation_not_suspendable: {
    status: 409,
    message:
      '… has not accepted the invitation yet, so there is no access to suspend. Remove the invitation instead (DELETE the member).',
  },
  org_creation_disabled: {
    status: 403,
    message:
      'Top-level organizations are created by the installation operator with `palisade org create`. To let signed-in people create them, set PALISADE_ORG_CREATION=any_user.',
  },
  org_depth_exceeded: {
    status: 400,
    message: 'Organizations nest at most … levels deep; create this business unit under a higher-level organization.',
  },
  org_has_children: {
    status: 409,
    message: 'This organization still has … child organization(s). Delete them first, then delete this one.',
  },
  owner_required: {
    status: 400,
    message: 'Name the first primary owner by email (for example --owner-email you@example.com).',
  },
  suspended_by_scim: {
    status: 409,
    message:
      '… was deactivated in the identity provider and is suspended by the SCIM directory "…" (…). Reactivate them there (assign them to the application again, or set them active): Palisade restores their access when the identity provider says so. To take their access away for good, remove the member instead.',
  },
  missing_permission_org_read: {
    status: 403,
    message:
      'Your role in this organization does not include the org.read permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_org_update: {
    status: 403,
    message:
      'Your role in this organization does not include the org.update permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_org_delete: {
    status: 403,
    message:
      'Your role in this organization does not include the org.delete permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_org_billing_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the org.billing.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_org_children_create: {
    status: 403,
    message:
      'Your role in this organization does not include the org.children.create permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_members_read: {
    status: 403,
    message:
      'Your role in this organization does not include the members.read permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_members_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the members.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_owners_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the owners.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_audit_read: {
    status: 403,
    message:
      'Your role in this organization does not include the audit.read permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_audit_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the audit.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_workspace_use: {
    status: 403,
    message:
      'Your role in this organization does not include the workspace.use permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_domains_read: {
    status: 403,
    message:
      'Your role in this organization does not include the domains.read permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_domains_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the domains.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_scim_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the scim.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_sso_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the sso.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_sso_recovery: {
    status: 403,
    message:
      'Your role in this organization does not include the sso.recovery permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_compliance_keys_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the compliance.keys.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_audit_content_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the audit.content.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_github_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the github.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_github_use: {
    status: 403,
    message:
      'Your role in this organization does not include the github.use permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
  missing_permission_notifications_manage: {
    status: 403,
    message:
      'Your role in this organization does not include the notifications.manage permission. Ask a primary owner for a role that has it (see the permission matrix in docs/concepts.md).',
  },
} as const satisfies ErrorCodeCatalog;
