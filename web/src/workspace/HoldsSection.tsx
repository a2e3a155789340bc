import { Badge, Button, Code, Group, Loader, Paper, Select, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ApiErrorAlert, notifyDone, notifyError } from '../app/errors';
import { ConfirmModal } from '../components/ConfirmModal';
import { useHolds, useLiftHold, useMemberChoices, usePlaceHold } from './queries';
import type { Hold } from './types';

const ORG = '__organization__';

/** Legal holds: while one stands, retention and deletion skip the content it covers. */
export function HoldsSection({ orgId }: { orgId: string }) {
  const holds = useHolds(orgId);
  const members = useMemberChoices(orgId);
  const place = usePlaceHold(orgId);
  const lift = useLiftHold(orgId);
  const [scope, setScope] = useState<string>(ORG);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | null>(null);
  const [lifting, setLifting] = useState<Hold | null>(null);
  const email = (userId: string | null) =>
    userId ? (members.data?.data.find((m) => m.userId === userId)?.email ?? userId) : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = reason.trim();
    const problem = !r
      ? 'Give the reason (a case or matter reference).'
      : r.length > 500
        ? 'At most 500 characters.'
        : null;
    setReasonError(problem);
    if (problem) return;
    place.mutate(
      { userId: scope === ORG ? null : scope, reason: r },
      {
        onSuccess: () => {
          setReason('');
          notifyDone('Legal hold placed');
        },
        onError: (err) => notifyError(err, 'The hold was not placed'),
      },
    );
  };

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Legal holds</Title>
        <Text size="sm">
          A hold keeps content from retention and deletion: the whole organization&apos;s, or one member&apos;s.
        </Text>
        <ApiErrorAlert error={holds.error} />
        {holds.isPending ? <Loader role="status" aria-label="Loading legal holds" /> : null}
        {holds.data && holds.data.data.length > 0 ? (
          <Table aria-label="Legal holds" data-testid="legal-holds">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Covers</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Placed</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Action</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {holds.data.data.map((h) => (
                <Table.Tr key={h.id} data-hold={h.id}>
                  <Table.Td>{h.userId ? email(h.userId) : 'Whole organization'}</Table.Td>
                  <Table.Td>{h.reason}</Table.Td>
                  <Table.Td>
                    <Code>{h.placedAt.slice(0, 19).replace('T', ' ')}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="filled" color={h.liftedAt ? 'gray.8' : 'red.9'}>
                      {h.liftedAt ? 'lifted' : 'active'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {h.liftedAt ? null : (
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() => setLifting(h)}
                        aria-label={`Lift hold: ${h.reason}`}
                      >
                        Lift hold
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : holds.data ? (
          <Text size="sm">No legal hold has been placed.</Text>
        ) : null}
        <form onSubmit={submit} aria-label="Place a legal hold" noValidate>
          <Group align="start">
            <Select
              label="Covers"
              data={[
                { value: ORG, label: 'Whole organization' },
                ...(members.data?.data ?? []).map((m) => ({ value: m.userId, label: m.email })),
              ]}
              value={scope}
              onChange={(v) => setScope(v ?? ORG)}
              allowDeselect={false}
              searchable
              w={260}
            />
            <Textarea
              label="Reason"
              description="A case or matter reference; it is in the audit log"
              value={reason}
              error={reasonError}
              onChange={(e) => {
                setReason(e.currentTarget.value);
                setReasonError(null);
              }}
              autosize
              minRows={1}
              w={360}
            />
            <Button type="submit" mt={24} loading={place.isPending}>
              Place hold
            </Button>
          </Group>
        </form>
      </Stack>
      <ConfirmModal
        opened={lifting !== null}
        title="Lift this legal hold?"
        confirmLabel="Lift hold"
        loading={lift.isPending}
        error={lift.error}
        onClose={() => {
          lift.reset();
          setLifting(null);
        }}
        onConfirm={() =>
          lifting &&
          lift.mutate(lifting.id, {
            onSuccess: () => {
              setLifting(null);
              notifyDone('Legal hold lifted');
            },
          })
        }
      >
        <Text size="sm">
          Content it covered ({lifting?.userId ? email(lifting.userId) : 'the whole organization'}) becomes subject to
          retention again: whatever is older than the retention period is deleted at the next purge.
        </Text>
      </ConfirmModal>
    </Paper>
  );
}
