import { Alert, Button, Code, CopyButton, Group, Modal, Radio, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { type Created, type Ok, api, data } from '../api/client';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { type Member, ROLES, type Role, type ownerRules, roleName } from './owners';

type Rules = ReturnType<typeof ownerRules>;
type Invited = Created<'inviteMember'>;
type Warning = Ok<'updateMember'>['warnings'][number];

function useRefreshMembers(orgId: string) {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ queryKey: ['org', orgId, 'members'] });
}

/** The same checks the API makes on an address (src/users/email.ts normalises; at most 254 characters). */
export function emailProblem(email: string): string | null {
  const e = email.trim();
  if (!e) return 'Enter an email address.';
  if (e.length > 254) return 'An email address has at most 254 characters.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) return 'This is not an email address (name@company.example).';
  return null;
}

function RoleChoice({
  value,
  onChange,
  allowOwner,
  label,
}: {
  value: Role;
  onChange: (r: Role) => void;
  allowOwner: boolean;
  label: string;
}) {
  return (
    <Radio.Group label={label} value={value} onChange={(v) => onChange(v as Role)}>
      <Stack gap="xs" mt={4}>
        {ROLES.map((r) => (
          <Radio
            key={r.value}
            value={r.value}
            label={r.label}
            description={
              r.value === 'primary_owner' && !allowOwner
                ? 'Only a primary owner may make primary owners.'
                : r.description
            }
            disabled={r.value === 'primary_owner' && !allowOwner}
          />
        ))}
      </Stack>
    </Radio.Group>
  );
}

function Warnings({ warnings }: { warnings: Warning[] }) {
  return warnings.map((w) => (
    <Alert key={w.code} color="yellow" title="Warning" data-testid="api-warning">
      {w.message}
    </Alert>
  ));
}

export function InviteModal({
  orgId,
  canInviteOwners,
  rules,
  onClose,
}: {
  orgId: string;
  canInviteOwners: boolean;
  rules: Rules;
  onClose: () => void;
}) {
  const refresh = useRefreshMembers(orgId);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [delivery, setDelivery] = useState<'email' | 'link'>('email');
  const [touched, setTouched] = useState(false);
  const invite = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/members', {
          params: { path: { orgId } },
          body: { email: email.trim(), role, ...(delivery === 'link' ? { delivery: 'link' as const } : {}) },
        }),
      ),
    onSuccess: () => void refresh(),
  });
  const problem = emailProblem(email);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!problem) invite.mutate();
  };
  const result: Invited | undefined = invite.data;
  return (
    <Modal opened onClose={onClose} title="Invite a member" size="lg">
      {result ? (
        <Stack data-testid="invite-result">
          <Alert color="teal" title={`${result.member.email} invited as ${roleName(result.member.role)}`}>
            {result.delivery.message}
          </Alert>
          {result.inviteLink ? (
            <Stack gap={4}>
              <Text size="sm" fw={500}>
                One-time link (shown once; expires {new Date(result.inviteLink.expiresAt).toLocaleString()})
              </Text>
              <Code block data-testid="invite-link">
                {result.inviteLink.url}
              </Code>
              <CopyButton value={result.inviteLink.url}>
                {({ copied, copy }) => (
                  <Button variant="light" onClick={copy} w="fit-content">
                    {copied ? 'Copied' : 'Copy link'}
                  </Button>
                )}
              </CopyButton>
            </Stack>
          ) : null}
          <Warnings warnings={result.warnings} />
          <Group justify="end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit} noValidate>
          <Stack>
            <TextInput
              label="Email"
              type="email"
              required
              data-autofocus
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              onBlur={() => setTouched(true)}
              error={touched ? problem : null}
            />
            <RoleChoice label="Role" value={role} onChange={setRole} allowOwner={canInviteOwners} />
            {role === 'primary_owner' && rules.ownersIncludingInvited + 1 > 2 ? (
              <Alert color="yellow" title="Many primary owners">
                This makes {rules.ownersIncludingInvited + 1} primary owners. Each can delete the organization and
                change billing; an admin can do everything else.
              </Alert>
            ) : null}
            <Radio.Group
              label="Delivery"
              value={delivery}
              onChange={(v) => setDelivery(v as 'email' | 'link')}
              description="A link that sets a password goes to the person, never to you, unless their address is at a domain this organization verified."
            >
              <Stack gap="xs" mt={4}>
                <Radio value="email" label="Email the invitation to them" />
                <Radio value="link" label="Show me the one-time link (addresses at a verified domain only)" />
              </Stack>
            </Radio.Group>
            <ApiErrorAlert error={invite.error} title="The invitation was not sent" />
            <Group justify="end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button type="submit" loading={invite.isPending}>
                Send invitation
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}

export function ChangeRoleModal({
  orgId,
  member,
  canManageOwners,
  rules,
  onClose,
}: {
  orgId: string;
  member: Member;
  canManageOwners: boolean;
  rules: Rules;
  onClose: () => void;
}) {
  const refresh = useRefreshMembers(orgId);
  const [role, setRole] = useState<Role>(member.role);
  const [warnings, setWarnings] = useState<Warning[] | null>(null);
  const change = useMutation({
    mutationFn: () =>
      data(
        api.PATCH('/api/v1/orgs/{orgId}/members/{memberId}', {
          params: { path: { orgId, memberId: member.id } },
          body: { role },
        }),
      ),
    onSuccess: (r) => {
      void refresh();
      if (r.warnings.length) setWarnings(r.warnings);
      else {
        notifyDone(`${member.email} is now ${roleName(r.member.role)}.`);
        onClose();
      }
    },
  });
  return (
    <Modal opened onClose={onClose} title={`Change the role of ${member.email}`}>
      {warnings ? (
        <Stack>
          <Text>{member.email} is now a primary owner.</Text>
          <Warnings warnings={warnings} />
          <Group justify="end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <Stack>
          <RoleChoice label="New role" value={role} onChange={setRole} allowOwner={canManageOwners} />
          {role === 'primary_owner' && rules.wouldWarn(member) ? (
            <Alert color="yellow" title="Many primary owners">
              This makes {rules.ownersIncludingInvited + 1} primary owners. Each can delete the organization and change
              billing; an admin can do everything else.
            </Alert>
          ) : null}
          <ApiErrorAlert error={change.error} title="The role was not changed" />
          <Group justify="end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button onClick={() => change.mutate()} loading={change.isPending} disabled={role === member.role}>
              Change role
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

export function RemoveModal({
  orgId,
  orgName,
  member,
  onClose,
}: {
  orgId: string;
  orgName: string;
  member: Member;
  onClose: () => void;
}) {
  const refresh = useRefreshMembers(orgId);
  const invitation = member.status === 'invited';
  const remove = useMutation({
    mutationFn: () =>
      data(api.DELETE('/api/v1/orgs/{orgId}/members/{memberId}', { params: { path: { orgId, memberId: member.id } } })),
    onSuccess: () => {
      void refresh();
      notifyDone(invitation ? `The invitation of ${member.email} was cancelled.` : `${member.email} was removed.`);
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={invitation ? 'Cancel the invitation?' : `Remove ${member.email}?`}>
      <Stack>
        <Text>
          {invitation
            ? `The invitation of ${member.email} to ${orgName} stops working.`
            : `${member.email} loses access to ${orgName} at once: their membership and role end. Their account and what they created stay. The audit log records who removed them.`}
        </Text>
        <ApiErrorAlert error={remove.error} title="Nothing was removed" />
        <Group justify="end">
          <Button variant="default" onClick={onClose} data-autofocus>
            Keep
          </Button>
          <Button color="red" onClick={() => remove.mutate()} loading={remove.isPending}>
            {invitation ? 'Cancel invitation' : 'Remove'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Who holds a suspension, in words: "by admin@acme.example", "by SCIM directory Okta". */
export function suspendedByText(member: Member): string {
  const by = member.suspension?.suspendedBy ?? [];
  if (by.length === 0) return '';
  return by
    .map((s) =>
      s.kind === 'admin'
        ? `by ${s.email ?? 'an admin'}`
        : s.directoryName !== null
          ? `by SCIM directory ${s.directoryName}: reactivate them in the identity provider`
          : 'by a SCIM directory since deleted',
    )
    .join('; ');
}

export function SuspendModal({
  orgId,
  orgName,
  member,
  onClose,
}: {
  orgId: string;
  orgName: string;
  member: Member;
  onClose: () => void;
}) {
  const refresh = useRefreshMembers(orgId);
  const [reason, setReason] = useState('');
  const [warnings, setWarnings] = useState<Warning[] | null>(null);
  const suspend = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/members/{memberId}/suspend', {
          params: { path: { orgId, memberId: member.id } },
          body: reason.trim() ? { reason: reason.trim() } : {},
        }),
      ),
    onSuccess: (r) => {
      void refresh();
      if (r.warnings.length) setWarnings(r.warnings);
      else {
        notifyDone(`${member.email} is suspended.`);
        onClose();
      }
    },
  });
  return (
    <Modal opened onClose={onClose} title={`Suspend ${member.email}?`}>
      {warnings ? (
        <Stack>
          <Text>{member.email} is suspended.</Text>
          <Warnings warnings={warnings} />
          <Group justify="end">
            <Button onClick={onClose}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <Stack>
          <Text>
            {member.email} loses access to {orgName} at once: the console, the API and their gateway keys here are
            refused until an admin reactivates them. Their role ({roleName(member.role)}) is kept; their account, their
            sign-in and their other organizations are not affected.
          </Text>
          <TextInput
            label="Reason (for the audit log)"
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
          />
          <ApiErrorAlert error={suspend.error} title="Nobody was suspended" />
          <Group justify="end">
            <Button variant="default" onClick={onClose} data-autofocus>
              Keep access
            </Button>
            <Button color="red" onClick={() => suspend.mutate()} loading={suspend.isPending}>
              Suspend
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

export function ReactivateModal({ orgId, member, onClose }: { orgId: string; member: Member; onClose: () => void }) {
  const refresh = useRefreshMembers(orgId);
  const byAdmin = member.suspension?.suspendedBy.some((s) => s.kind === 'admin') ?? false;
  const reactivate = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/members/{memberId}/reactivate', {
          params: { path: { orgId, memberId: member.id } },
        }),
      ),
    onSuccess: () => {
      void refresh();
      notifyDone(`${member.email} is active again.`);
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={`Reactivate ${member.email}?`}>
      <Stack>
        <Text>
          {byAdmin
            ? `${member.email} was suspended ${suspendedByText(member)}.`
            : `The SCIM directory that suspended ${member.email} was deleted, so no identity provider can reactivate them.`}{' '}
          Reactivating gives them their role ({roleName(member.role)}) back at once, with the gateway keys they had
          here.
        </Text>
        <ApiErrorAlert error={reactivate.error} title="Nobody was reactivated" />
        <Group justify="end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button onClick={() => reactivate.mutate()} loading={reactivate.isPending}>
            Reactivate
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
