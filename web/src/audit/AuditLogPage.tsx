import { Anchor, Badge, Button, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { EventDrawer } from './EventDrawer';
import { ExportButtons } from './ExportButtons';
import { FilterForm } from './FilterForm';
import { type Filters, filtersFromParams, paramsFromFilters, validateFilters } from './filters';
import { OUTCOME_COLOR, actorLabel, shortTime } from './format';
import { useAuditSearch } from './queries';
import type { AuditEvent } from './types';

export default function AuditLogPage() {
  const orgId = useOrgId();
  // Every filter and the open event live in the URL: a search is a link to paste to a colleague.
  const [params, setParams] = useSearchParams();
  const filters = filtersFromParams(params);
  const invalid = Object.keys(validateFilters(filters)).length > 0;
  const search = useAuditSearch(orgId, filters, !invalid);
  const events: AuditEvent[] = search.data?.pages.flatMap((p) => p.data) ?? [];
  const openId = params.get('event');
  const open = openId ? events.find((e) => e.id === openId) : undefined;

  // Both read the address bar as it is now, not the params of the last render: react-router's
  // updater gets the latter, so closing the event right after narrowing the search (before the
  // re-render) used to put the old filters back.
  const current = () => new URLSearchParams(window.location.search);
  const apply = (f: Filters) => setParams(paramsFromFilters(f, current()));
  const setEvent = (id: string | null) =>
    setParams(() => {
      const p = current();
      if (id) p.set('event', id);
      else p.delete('event');
      return p;
    });

  // Infinite scroll: the next page loads when the end of the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = search;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  return (
    <Stack maw={1200}>
      <Group justify="space-between" align="end">
        <Title order={1}>Audit log</Title>
        <Anchor component={Link} to={`/orgs/${orgId}/audit/integrity`}>
          Integrity: verify the chain, checkpoints
        </Anchor>
      </Group>
      <FilterForm key={paramsFromFilters(filters).toString()} applied={filters} onApply={apply} />
      <ExportButtons orgId={orgId} filters={filters} disabled={invalid} />
      {invalid ? (
        <Text c="red.8" size="sm" role="alert">
          The link holds a filter the API would refuse; correct it above and search again.
        </Text>
      ) : null}
      {search.isError ? <ApiErrorAlert error={search.error} title="The search failed" /> : null}
      {search.isPending && !invalid ? <Loader role="status" aria-label="Loading events" /> : null}
      {search.data ? (
        <Table striped highlightOnHover data-testid="audit-events" aria-label="Audit events">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Time (UTC)</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>Actor</Table.Th>
              <Table.Th>Targets</Table.Th>
              <Table.Th>Outcome</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {events.map((e) => (
              <Table.Tr key={e.id} data-event={e.id} data-action={e.action}>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {shortTime(e.occurredAt)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Anchor component="button" type="button" size="sm" onClick={() => setEvent(e.id)}>
                    {e.action}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{actorLabel(e)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{e.targets.map((t) => t.name ?? t.id).join(', ')}</Text>
                </Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={OUTCOME_COLOR[e.outcome] ?? 'gray.8'}>
                    {e.outcome}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {search.data && events.length === 0 ? <Text size="sm">No events match these filters.</Text> : null}
      <div ref={sentinel} />
      {hasNextPage ? (
        <Button variant="light" onClick={() => void fetchNextPage()} loading={isFetchingNextPage}>
          Load more
        </Button>
      ) : search.data && events.length > 0 ? (
        <Text size="sm" c="dimmed" data-testid="audit-end">
          {events.length} event{events.length === 1 ? '' : 's'}: the end of this search.
        </Text>
      ) : null}
      <EventDrawer
        event={open}
        missing={Boolean(openId && !open && search.data)}
        onClose={() => setEvent(null)}
        onFilter={(f) => apply({ ...filters, ...f })}
      />
    </Stack>
  );
}
