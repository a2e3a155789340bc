import { Button, Group, Loader, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, Suspense, lazy, useState } from 'react';
import { useSearchParams } from 'react-router';
import { ApiErrorAlert } from '../app/errors';
import { useUsage } from './queries';

const UsageChart = lazy(() => import('./UsageChart'));
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const validDay = (v: string) => DAY.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`));

/** Token usage per member and model over a range of UTC days (from/to in the URL). */
export function UsageSection({ orgId }: { orgId: string }) {
  const [params, setParams] = useSearchParams();
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const usage = useUsage(orgId, validDay(from) ? from : '', validDay(to) ? to : '');
  const [draft, setDraft] = useState({ from, to });
  const [errors, setErrors] = useState<{ from?: string; to?: string }>({});

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found: { from?: string; to?: string } = {};
    if (draft.from && !validDay(draft.from)) found.from = 'A day as YYYY-MM-DD.';
    if (draft.to && !validDay(draft.to)) found.to = 'A day as YYYY-MM-DD.';
    if (!found.from && !found.to && draft.from && draft.to && draft.from > draft.to)
      found.to = '“To” is on or after “From”.';
    setErrors(found);
    if (found.from || found.to) return;
    setParams((p) => {
      for (const k of ['from', 'to'] as const) {
        if (draft[k]) p.set(k, draft[k]);
        else p.delete(k);
      }
      return p;
    });
  };
  const rows = usage.data?.data ?? [];
  const total = rows.reduce((s, r) => s + r.inputTokens + r.outputTokens, 0);

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Usage</Title>
        <form onSubmit={submit} aria-label="Usage period" noValidate>
          <Group align="start">
            <TextInput
              label="From (UTC day)"
              placeholder="2026-01-01"
              value={draft.from}
              error={errors.from}
              onChange={(e) => setDraft((d) => ({ ...d, from: e.currentTarget.value }))}
              w={180}
            />
            <TextInput
              label="To (UTC day, inclusive)"
              placeholder="2026-01-31"
              value={draft.to}
              error={errors.to}
              onChange={(e) => setDraft((d) => ({ ...d, to: e.currentTarget.value }))}
              w={180}
            />
            <Button type="submit" mt={24} variant="default">
              Show usage
            </Button>
          </Group>
        </form>
        <ApiErrorAlert error={usage.error} />
        {usage.isPending ? <Loader role="status" aria-label="Loading usage" /> : null}
        {usage.data && rows.length === 0 ? <Text size="sm">No gateway usage in this period.</Text> : null}
        {rows.length > 0 ? (
          <>
            <Suspense fallback={<Loader role="status" aria-label="Loading the chart" />}>
              <UsageChart rows={rows} />
            </Suspense>
            <Table aria-label="Usage per member and model" data-testid="usage-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Member</Table.Th>
                  <Table.Th>Model</Table.Th>
                  <Table.Th>Requests</Table.Th>
                  <Table.Th>Input tokens</Table.Th>
                  <Table.Th>Output tokens</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={`${r.userId}:${r.model}`} data-usage={`${r.email ?? r.userId}:${r.model}`}>
                    <Table.Td>{r.email ?? r.userId}</Table.Td>
                    <Table.Td>{r.model}</Table.Td>
                    <Table.Td>{r.requests}</Table.Td>
                    <Table.Td>{r.inputTokens}</Table.Td>
                    <Table.Td>{r.outputTokens}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <Text size="sm">{total} tokens in all.</Text>
          </>
        ) : null}
      </Stack>
    </Paper>
  );
}
