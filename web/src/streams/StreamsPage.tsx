import { Anchor, Button, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { KIND_LABEL, StateBadge, destinationOf, time } from './health';
import { useStreams } from './queries';

/** SIEM destinations with their delivery health; the list refreshes itself while open. */
export default function StreamsPage() {
  const orgId = useOrgId();
  const streams = useStreams(orgId);
  return (
    <Stack maw={1200}>
      <Group justify="space-between" align="end">
        <Title order={1}>SIEM streams</Title>
        <Button component={Link} to={`/orgs/${orgId}/streams/new`}>
          Add destination
        </Button>
      </Group>
      <Text size="sm">
        Every audit event is delivered, in order, to each destination. Lag is the number of events recorded but not yet
        delivered; a destination that keeps refusing moves to dead letter until you retry it.
      </Text>
      <ApiErrorAlert error={streams.error} />
      {streams.isPending ? <Loader role="status" aria-label="Loading destinations" /> : null}
      {streams.data && streams.data.data.length === 0 ? (
        <Text size="sm">No destination yet: add your SIEM to receive the audit log as it is written.</Text>
      ) : null}
      {streams.data && streams.data.data.length > 0 ? (
        <Table striped aria-label="SIEM destinations" data-testid="streams">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Destination</Table.Th>
              <Table.Th>Health</Table.Th>
              <Table.Th>Lag</Table.Th>
              <Table.Th>Last delivered</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {streams.data.data.map((s) => (
              <Table.Tr key={s.id} data-stream={s.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/orgs/${orgId}/streams/${s.id}`}>
                    {s.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{KIND_LABEL[s.kind]}</Table.Td>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {destinationOf(s)}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <StateBadge s={s} />
                </Table.Td>
                <Table.Td>{s.health.lag}</Table.Td>
                <Table.Td>{time(s.health.lastSuccessAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Stack>
  );
}
