import {
  Alert,
  Badge,
  Button,
  Group,
  Loader,
  Menu,
  NativeSelect,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrg, useOrgId } from '../app/orgs';
import { useSession } from '../app/session';
import {
  ChangeRoleModal,
  InviteModal,
  ReactivateModal,
  RemoveModal,
  SuspendModal,
  suspendedByText,
} from './MemberDialogs';
import { type Member, OWNER_WARNING_THRESHOLD, ROLES, type Role, ownerRules, roleName } from './owners';

const STATUSES = ['all', 'active', 'invited', 'suspended'] as const;
type StatusFilter = (typeof STATUSES)[number];
// Dark shades: white text on them passes WCAG AA contrast.
const STATUS_COLOR: Record<Member['status'], string> = { active: 'teal.9', invited: 'blue.9', suspended: 'red.9' };

type Dialog =
  | { kind: 'invite' }
  | { kind: 'role'; member: Member }
  | { kind: 'remove'; member: Member }
  | { kind: 'suspend'; member: Member }
  | { kind: 'reactivate'; member: Member }
  | null;

/** How long typing pauses before the search goes to the server (and into the URL). */
const SEARCH_DEBOUNCE_MS = 300;

/** Every member of the organization (all pages), for the owner rules. */
function useAllMembers(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId, 'members', 'everyone'],
    queryFn: async () => {
      const all: Member[] = [];
      let cursor: string | undefined;
      do {
        const page = await data(
          api.GET('/api/v1/orgs/{orgId}/members', { params: { path: { orgId }, query: { limit: 200, cursor } } }),
        );
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });
}

export default function MembersPage() {
  const orgId = useOrgId();
  const org = useOrg(orgId);
  const myRole = org.data?.yourRole;
  const canManage = myRole === 'admin' || myRole === 'primary_owner';
  const canManageOwners = myRole === 'primary_owner';
  const myUserId = useSession().data?.user.id;
  const [dialog, setDialog] = useState<Dialog>(null);
  // The filters and the search are in the URL, so a filtered list is a link to paste to a colleague.
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '')
    ? (params.get('status') as StatusFilter)
    : 'all';
  const role = ROLES.some((r) => r.value === params.get('role')) ? (params.get('role') as Role) : 'all';
  const q = params.get('q') ?? '';
  // The address bar as it is now, not the params of the last render (react-router's updater gets
  // those): a debounced search landing right after a filter click must not put the old filter back.
  const current = () => new URLSearchParams(window.location.search);
  const set = (key: string, value: string) =>
    setParams(
      () => {
        const p = current();
        if (value && value !== 'all') p.set(key, value);
        else p.delete(key);
        return p;
      },
      { replace: true },
    );

  // What is typed goes to the URL (and the server) once typing pauses; a URL changed from outside
  // (back, a pasted link) comes back into the box.
  const [typed, setTyped] = useState(q);
  const [debounced] = useDebouncedValue(typed.trim(), SEARCH_DEBOUNCE_MS);
  const pushed = useRef(q);
  useEffect(() => {
    if (debounced === (current().get('q') ?? '')) return;
    pushed.current = debounced;
    set('q', debounced);
  }, [debounced]);
  useEffect(() => {
    if (q !== pushed.current) {
      pushed.current = q;
      setTyped(q);
    }
  }, [q]);

  const filters = { ...(status === 'all' ? {} : { status }), ...(role === 'all' ? {} : { role }), ...(q ? { q } : {}) };
  const members = useInfiniteQuery({
    queryKey: ['org', orgId, 'members', 'list', filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      data(
        api.GET('/api/v1/orgs/{orgId}/members', {
          params: { path: { orgId }, query: { limit: 200, cursor: pageParam, ...filters } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const everyone = useAllMembers(orgId);
  const rules = ownerRules(everyone.data ?? []);

  const shown: Member[] = members.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <Stack maw={1100}>
      <Group justify="space-between">
        <Title order={1}>Members</Title>
        {canManage ? <Button onClick={() => setDialog({ kind: 'invite' })}>Invite member</Button> : null}
      </Group>
      {everyone.data && rules.activeOwners.length === 1 ? (
        <Alert color="blue" title="One primary owner" data-testid="owner-rule">
          {rules.activeOwners[0]!.email} is the only active primary owner. They cannot be removed or made an admin or
          member until someone else is a primary owner: make another member primary owner first.
        </Alert>
      ) : null}
      {everyone.data && rules.ownersIncludingInvited > OWNER_WARNING_THRESHOLD ? (
        <Alert color="yellow" title="Many primary owners" data-testid="owner-rule">
          This organization has {rules.ownersIncludingInvited} primary owners (active or invited). Each can delete the
          organization and change billing; consider making some of them admins.
        </Alert>
      ) : null}
      <Group align="end">
        <TextInput
          label="Search"
          placeholder="Email or name"
          value={typed}
          maxLength={200}
          onChange={(e) => setTyped(e.currentTarget.value)}
          w={280}
        />
        <NativeSelect
          label="Role"
          value={role}
          onChange={(e) => set('role', e.currentTarget.value)}
          data={[{ value: 'all', label: 'All roles' }, ...ROLES.map((r) => ({ value: r.value, label: r.label }))]}
        />
        <div>
          <Text size="sm" fw={500} id="status-filter-label" mb={4}>
            Status
          </Text>
          <SegmentedControl
            aria-labelledby="status-filter-label"
            value={status}
            onChange={(v) => set('status', v)}
            data={STATUSES.map((s) => ({ value: s, label: s[0]!.toUpperCase() + s.slice(1) }))}
          />
        </div>
      </Group>
      {members.isError ? <ApiErrorAlert error={members.error} /> : null}
      {members.isPending ? <Loader role="status" aria-label="Loading members" /> : null}
      {members.data ? (
        <Table striped data-testid="members">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Status</Table.Th>
              {canManage ? <Table.Th>Actions</Table.Th> : null}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {shown.map((m) => {
              const touchesOwners = m.role === 'primary_owner';
              const ownerLocked = touchesOwners && !canManageOwners;
              const last = rules.isLastOwner(m);
              const isMe = m.userId === myUserId;
              const suspendedByAdmin = m.suspension?.suspendedBy.some((b) => b.kind === 'admin') ?? false;
              return (
                <Table.Tr key={m.id} data-member={m.email}>
                  <Table.Td>{m.email}</Table.Td>
                  <Table.Td>{m.displayName ?? ''}</Table.Td>
                  <Table.Td>{roleName(m.role)}</Table.Td>
                  <Table.Td>
                    <Badge variant="filled" color={STATUS_COLOR[m.status]}>
                      {m.status}
                    </Badge>
                    {m.suspension ? (
                      <Text size="xs" c="dimmed" data-testid="suspended-by">
                        {suspendedByText(m)}
                      </Text>
                    ) : null}
                  </Table.Td>
                  {canManage ? (
                    <Table.Td>
                      <Menu withinPortal position="bottom-end">
                        <Menu.Target>
                          <Button variant="default" size="xs">
                            Actions for {m.email}
                          </Button>
                        </Menu.Target>
                        <Menu.Dropdown>
                          <Menu.Item
                            disabled={ownerLocked || last || m.status === 'suspended'}
                            onClick={() => setDialog({ kind: 'role', member: m })}
                          >
                            Change role
                          </Menu.Item>
                          {m.status === 'suspended' && m.suspension?.liftedBy === 'admin' ? (
                            <Menu.Item
                              disabled={ownerLocked}
                              onClick={() => setDialog({ kind: 'reactivate', member: m })}
                            >
                              Reactivate
                            </Menu.Item>
                          ) : null}
                          {m.status !== 'invited' && !suspendedByAdmin ? (
                            <Menu.Item
                              color="red"
                              disabled={ownerLocked || last || isMe}
                              onClick={() => setDialog({ kind: 'suspend', member: m })}
                            >
                              Suspend
                            </Menu.Item>
                          ) : null}
                          <Menu.Item
                            color="red"
                            disabled={ownerLocked || last}
                            onClick={() => setDialog({ kind: 'remove', member: m })}
                          >
                            {m.status === 'invited' ? 'Cancel invitation' : 'Remove from organization'}
                          </Menu.Item>
                          {isMe ? <Menu.Label>You cannot suspend yourself.</Menu.Label> : null}
                          {last ? (
                            <Menu.Label>The last primary owner cannot be demoted, suspended or removed.</Menu.Label>
                          ) : ownerLocked ? (
                            <Menu.Label>Only a primary owner may change another primary owner.</Menu.Label>
                          ) : null}
                        </Menu.Dropdown>
                      </Menu>
                    </Table.Td>
                  ) : null}
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      ) : null}
      {members.data && shown.length === 0 ? <Text size="sm">No members match.</Text> : null}
      {members.hasNextPage ? (
        <Button variant="light" onClick={() => void members.fetchNextPage()} loading={members.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
      {dialog?.kind === 'invite' ? (
        <InviteModal orgId={orgId} canInviteOwners={canManageOwners} rules={rules} onClose={() => setDialog(null)} />
      ) : null}
      {dialog?.kind === 'role' ? (
        <ChangeRoleModal
          orgId={orgId}
          member={dialog.member}
          canManageOwners={canManageOwners}
          rules={rules}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'remove' ? (
        <RemoveModal
          orgId={orgId}
          orgName={org.data?.name ?? ''}
          member={dialog.member}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'suspend' ? (
        <SuspendModal
          orgId={orgId}
          orgName={org.data?.name ?? ''}
          member={dialog.member}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog?.kind === 'reactivate' ? (
        <ReactivateModal orgId={orgId} member={dialog.member} onClose={() => setDialog(null)} />
      ) : null}
    </Stack>
  );
}
