import { Badge, Button, Card, Code, Group, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { Loading } from '../domains/widgets';
import { WARN_COLOR, when } from '../domains/words';
import type { SyncEntry } from './types';

const OUTCOMES = ['all', 'failure', 'warning', 'success'] as const;
type OutcomeFilter = (typeof OUTCOMES)[number];
const OUTCOME_COLOR: Record<string, string> = { failure: 'red.9', warning: WARN_COLOR, success: 'teal.9' };

/** Failures and warnings grouped by cause, each with the fix: 47 failures with one cause are one problem. */
function Problems({ orgId, directoryId }: { orgId: string; directoryId: string }) {
  const q = useQuery({
    queryKey: ['org', orgId, 'scim', directoryId, 'problems'],
    queryFn: async () =>
      await data(
        api.GET('/api/v1/orgs/{orgId}/scim/directories/{directoryId}/sync-log/problems', {
          params: { path: { orgId, directoryId }, query: {} },
        }),
      ),
  });
  if (q.isError) return <ApiErrorAlert error={q.error} title="The problems could not be loaded" />;
  if (!q.data) return <Loading label="Loading problems" />;
  if (q.data.problems.length === 0) return <Text size="sm">No failures or warnings: every request went through.</Text>;
  return (
    <Stack gap="sm" data-testid="problems">
      {q.data.problems.map((p) => (
        <Card withBorder key={`${p.cause}:${p.outcome}`} data-cause={p.cause}>
          <Stack gap={6}>
            <Group gap="xs">
              <Badge variant="filled" color={OUTCOME_COLOR[p.outcome] ?? 'gray.8'}>
                {p.outcome}
              </Badge>
              <Title order={4} size="h5">
                <Code>{p.cause}</Code>
              </Title>
              <Text size="sm">
                {p.count} time{p.count === 1 ? '' : 's'}, last {when(p.lastSeen)}
                {p.status ? ` · HTTP ${p.status}` : ''}
                {p.scimType ? ` · scimType ${p.scimType}` : ''}
              </Text>
            </Group>
            {p.explanation ? (
              <Text size="sm" data-testid="fix">
                {p.explanation}
              </Text>
            ) : null}
            {p.users.length ? <Text size="sm">People: {p.users.join(', ')}</Text> : null}
            {p.groups.length ? <Text size="sm">Groups: {p.groups.join(', ')}</Text> : null}
          </Stack>
        </Card>
      ))}
    </Stack>
  );
}

export function SyncLog({ orgId, directoryId }: { orgId: string; directoryId: string }) {
  // The outcome filter is in the URL, so a filtered log is a link to paste to a colleague.
  const [params, setParams] = useSearchParams();
  const outcome = (OUTCOMES as readonly string[]).includes(params.get('outcome') ?? '')
    ? (params.get('outcome') as OutcomeFilter)
    : 'all';
  const entries = useInfiniteQuery({
    queryKey: ['org', orgId, 'scim', directoryId, 'sync-log', outcome],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      data(
        api.GET('/api/v1/orgs/{orgId}/scim/directories/{directoryId}/sync-log', {
          params: {
            path: { orgId, directoryId },
            query: { limit: 50, cursor: pageParam, ...(outcome === 'all' ? {} : { outcome }) },
          },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows: SyncEntry[] = entries.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Stack>
      <Title order={2} size="h3">
        Problems by cause
      </Title>
      <Problems orgId={orgId} directoryId={directoryId} />
      <Group justify="space-between" align="end">
        <Title order={2} size="h3">
          Every request
        </Title>
        <SegmentedControl
          aria-label="Outcome"
          value={outcome}
          onChange={(v) =>
            setParams(
              (p) => {
                if (v === 'all') p.delete('outcome');
                else p.set('outcome', v);
                return p;
              },
              { replace: true },
            )
          }
          data={OUTCOMES.map((o) => ({ value: o, label: o[0]!.toUpperCase() + o.slice(1) }))}
        />
      </Group>
      {entries.isError ? <ApiErrorAlert error={entries.error} /> : null}
      {entries.isPending ? <Loading label="Loading the sync log" /> : null}
      {entries.data && rows.length === 0 ? <Text size="sm">No requests yet.</Text> : null}
      {rows.length ? (
        <Table striped data-testid="sync-log">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Request</Table.Th>
              <Table.Th>Person or group</Table.Th>
              <Table.Th>Outcome</Table.Th>
              <Table.Th>What happened</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{when(e.occurredAt)}</Table.Td>
                <Table.Td>
                  {e.operation}
                  <Text size="xs" c="dimmed">
                    {e.method} {e.path} · {e.status}
                  </Text>
                </Table.Td>
                <Table.Td>{e.userName ?? e.groupName ?? '—'}</Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={OUTCOME_COLOR[e.outcome] ?? 'gray.8'}>
                    {e.outcome}
                  </Badge>
                  {e.occurrences > 1 ? <Text size="xs">×{e.occurrences}</Text> : null}
                </Table.Td>
                <Table.Td>
                  {e.cause ? <Code>{e.cause}</Code> : null} {e.explanation ?? ''}
                  <Text size="xs" c="dimmed">
                    request id {e.requestId}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {entries.hasNextPage ? (
        <Button variant="light" onClick={() => void entries.fetchNextPage()} loading={entries.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
    </Stack>
  );
}
