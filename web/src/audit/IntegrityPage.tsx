import { Anchor, Badge, Button, Code, Group, Loader, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { ApiErrorAlert, notifyDone, notifyError } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { shortTime } from './format';
import { useCheckpoints, useCreateCheckpoint, useVerifyChain } from './queries';

const PROBLEM: Record<string, string> = {
  content_modified: 'An event was modified',
  chain_broken: 'The chain is broken (an event was dropped, inserted or reordered)',
  sequence_gap: 'Sequence numbers skip or repeat',
  head_mismatch: 'The newest events were removed or the head was rewritten',
  anchor_invalid: 'The retention anchor does not match its signed checkpoint',
};

/** Proof the log was not edited: walk the hash chain now, and the signed checkpoints to check exports against. */
export default function IntegrityPage() {
  const orgId = useOrgId();
  const verify = useVerifyChain(orgId);
  const checkpoints = useCheckpoints(orgId);
  const sign = useCreateCheckpoint(orgId);
  const r = verify.data;

  return (
    <Stack maw={1100}>
      <Group justify="space-between" align="end">
        <Title order={1}>Audit integrity</Title>
        <Anchor component={Link} to={`/orgs/${orgId}/audit`}>
          Back to the audit log
        </Anchor>
      </Group>

      <Title order={2}>Hash chain</Title>
      <Text size="sm">
        Each event stores its predecessor&apos;s hash. Verifying recomputes every hash from the first kept event and
        names the first one that does not match.
      </Text>
      <Group>
        <Button onClick={() => verify.mutate()} loading={verify.isPending}>
          Verify chain
        </Button>
      </Group>
      <ApiErrorAlert error={verify.error} title="Verification could not run" />
      {r ? (
        <Paper
          withBorder
          p="md"
          role={r.ok ? 'status' : 'alert'}
          data-testid="verify-result"
          style={{ borderColor: `var(--mantine-color-${r.ok ? 'teal' : 'red'}-9)` }}
        >
          <Stack gap={4}>
            <Text fw={700} c={r.ok ? 'teal.9' : 'red.9'}>
              {r.ok ? 'The chain verifies' : 'The chain does not verify'}
            </Text>
            {r.ok ? (
              <Text size="sm">
                All {r.eventsChecked} events verify, from event {r.firstSeq ?? 1}: none was modified, dropped, inserted
                or reordered.
              </Text>
            ) : (
              <>
                <Text size="sm">
                  {PROBLEM[r.firstFailure?.problem ?? ''] ?? r.firstFailure?.problem} at event {r.firstFailure?.seq}
                  {r.firstFailure?.eventId ? (
                    <>
                      {' '}
                      (<Code>{r.firstFailure.eventId}</Code>)
                    </>
                  ) : null}
                  .
                </Text>
                <Text size="sm">{r.firstFailure?.explanation}</Text>
                <Text size="sm">{r.eventsChecked} events before it verify.</Text>
              </>
            )}
            {r.unsealedEvents > 0 ? (
              <Text size="sm" c="dimmed">
                {r.unsealedEvents} more {r.unsealedEvents === 1 ? 'event was' : 'events were'} written while this ran
                and {r.unsealedEvents === 1 ? 'is' : 'are'} not sealed into the chain yet (within a second); verify
                again to include {r.unsealedEvents === 1 ? 'it' : 'them'}.
              </Text>
            ) : null}
          </Stack>
        </Paper>
      ) : null}

      <Group justify="space-between" align="end" mt="md">
        <Title order={2}>Signed checkpoints</Title>
        <Button
          variant="default"
          loading={sign.isPending}
          onClick={() =>
            sign.mutate(undefined, {
              onSuccess: () => notifyDone('Checkpoint signed'),
              onError: (e) => notifyError(e, 'The checkpoint was not signed'),
            })
          }
        >
          Sign a checkpoint now
        </Button>
      </Group>
      <Text size="sm">
        A checkpoint is an Ed25519 signature over the chain&apos;s position (sequence and hash). With the public keys at{' '}
        <Anchor href="/.well-known/palisade-audit-keys.json">/.well-known/palisade-audit-keys.json</Anchor>, anyone can
        check an export against it offline (<Code>palisade audit verify</Code>).
      </Text>
      <ApiErrorAlert error={checkpoints.error} title="Checkpoints could not be loaded" />
      {checkpoints.isPending ? <Loader role="status" aria-label="Loading checkpoints" /> : null}
      {checkpoints.data ? (
        <>
          <Table striped aria-label="Checkpoints" data-testid="checkpoints">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Signed at (UTC)</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Up to event</Table.Th>
                <Table.Th>Events kept</Table.Th>
                <Table.Th>Hash</Table.Th>
                <Table.Th>Key</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {[...checkpoints.data.checkpoints].reverse().map((c) => (
                <Table.Tr key={c.id} data-checkpoint={c.id}>
                  <Table.Td>{shortTime(c.payload.at)}</Table.Td>
                  <Table.Td>{c.payload.kind}</Table.Td>
                  <Table.Td>{c.payload.seq}</Table.Td>
                  <Table.Td>
                    {c.payload.count} (from {c.payload.firstSeq})
                  </Table.Td>
                  <Table.Td>
                    <Code title={c.payload.hash}>{c.payload.hash.slice(0, 16)}…</Code>
                  </Table.Td>
                  <Table.Td>
                    <Code>{c.payload.kid}</Code>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {checkpoints.data.checkpoints.length === 0 ? (
            <Text size="sm">No checkpoint yet: one is signed periodically, or sign one now.</Text>
          ) : null}
          <Title order={3}>Signing keys</Title>
          <Table aria-label="Signing keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Key id</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Retired</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {checkpoints.data.keys.map((k) => (
                <Table.Tr key={k.kid}>
                  <Table.Td>
                    <Code>{k.kid}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="filled" color={k.status === 'active' ? 'teal.9' : 'gray.8'}>
                      {k.status}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{shortTime(k.createdAt)}</Table.Td>
                  <Table.Td>{k.retiredAt ? shortTime(k.retiredAt) : ''}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      ) : null}
    </Stack>
  );
}
