import { Badge, Button, Group, Loader, SegmentedControl, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';

type Member = Ok<'getOrgsMembers'>['data'][number];
const STATUSES = ['all', 'active', 'invited', 'suspended'] as const;
type StatusFilter = (typeof STATUSES)[number];
// Dark shades: white text on them passes WCAG AA contrast.
const STATUS_COLOR: Record<Member['status'], string> = { active: 'teal.9', invited: 'blue.9', suspended: 'red.9' };

export default function MembersPage() {
  const orgId = useOrgId();
  // The filter and the search are in the URL, so a filtered list is a link to paste to a colleague.
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '')
    ? (params.get('status') as StatusFilter)
    : 'all';
  const q = params.get('q') ?? '';
  const set = (key: string, value: string) =>
    setParams(
      (p) => {
        if (value && value !== 'all') p.set(key, value);
        else p.delete(key);
        return p;
      },
      { replace: true },
    );

  const members = useInfiniteQuery({
    queryKey: ['org', orgId, 'members', status],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      data(
        api.GET('/api/v1/orgs/{orgId}/members', {
          params: {
            path: { orgId },
            query: { limit: 200, cursor: pageParam, ...(status === 'all' ? {} : { status }) },
          },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });

  const all: Member[] = members.data?.pages.flatMap((p) => p.data) ?? [];
  const needle = q.trim().toLowerCase();
  // The API filters by status; the search runs over the loaded pages (email and name).
  const shown = needle
    ? all.filter((m) => m.email.toLowerCase().includes(needle) || (m.displayName ?? '').toLowerCase().includes(needle))
    : all;

  return (
    <Stack maw={1100}>
      <Title order={1}>Members</Title>
      <Group align="end">
        <TextInput
          label="Search"
          placeholder="Email or name"
          value={q}
          onChange={(e) => set('q', e.currentTarget.value)}
          w={280}
        />
        <SegmentedControl
          aria-label="Status"
          value={status}
          onChange={(v) => set('status', v)}
          data={STATUSES.map((s) => ({ value: s, label: s[0]!.toUpperCase() + s.slice(1) }))}
        />
      </Group>
      {members.isError ? <ApiErrorAlert error={members.error} /> : null}
      {members.isPending ? <Loader aria-label="Loading members" /> : null}
      {members.data ? (
        <Table striped data-testid="members">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Status</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {shown.map((m) => (
              <Table.Tr key={m.id} data-member={m.email}>
                <Table.Td>{m.email}</Table.Td>
                <Table.Td>{m.displayName ?? ''}</Table.Td>
                <Table.Td>{m.role.replace('_', ' ')}</Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={STATUS_COLOR[m.status]}>
                    {m.status}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {members.data && shown.length === 0 ? <Text size="sm">No members match.</Text> : null}
      {members.hasNextPage ? (
        <Button variant="light" onClick={() => void members.fetchNextPage()} loading={members.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
    </Stack>
  );
}
