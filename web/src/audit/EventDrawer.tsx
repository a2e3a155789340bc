import {
  Badge,
  Button,
  Code,
  CopyButton,
  Drawer,
  Group,
  Stack,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import type { Filters } from './filters';
import { useAuditActions } from './queries';
import type { AuditEvent } from './types';
import { OUTCOME_COLOR } from './format';

function Row({ label, value }: { label: string; value: string | number | null }) {
  return (
    <Table.Tr>
      <Table.Th w={160} scope="row">
        {label}
      </Table.Th>
      <Table.Td>
        {value === null || value === '' ? (
          <Text size="sm" c="dimmed">
            none
          </Text>
        ) : (
          <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
            {value}
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

/** One event in full: who, what, on which targets, its metadata and its place in the hash chain. */
export function EventDrawer({
  event,
  missing,
  onClose,
  onFilter,
}: {
  event: AuditEvent | undefined;
  /** The URL names an event that is not among the loaded results. */
  missing: boolean;
  onClose: () => void;
  onFilter: (f: Filters) => void;
}) {
  const actions = useAuditActions();
  const spec = event
    ? actions.data?.find((a) => a.action === event.action || a.formerNames.includes(event.action))
    : undefined;
  return (
    <Drawer
      opened={Boolean(event) || missing}
      onClose={onClose}
      position="right"
      size="xl"
      closeButtonProps={{ 'aria-label': 'Close the event' }}
      title={event ? `Event ${event.action}` : 'Event'}
    >
      {missing && !event ? (
        <Text size="sm">
          This event is not among the results of this search. Clear or widen the filters to find it.
        </Text>
      ) : null}
      {event ? (
        <Stack data-testid="event-detail">
          <Group>
            <Badge variant="filled" color={OUTCOME_COLOR[event.outcome] ?? 'gray.8'}>
              {event.outcome}
            </Badge>
            <Text size="sm">{event.occurredAt}</Text>
          </Group>
          {spec ? (
            <Text size="sm">
              {spec.description}
              {spec.securityRelevant ? ' (security-relevant)' : ''} · OCSF {spec.ocsf.className}:{' '}
              {spec.ocsf.activityName}
            </Text>
          ) : null}

          <Title order={3}>Actor</Title>
          <Table>
            <Table.Tbody>
              <Row label="Type" value={event.actor.type} />
              <Row label="Id" value={event.actor.id} />
              <Row label="Email" value={event.actor.email} />
              <Row label="IP address" value={event.actor.ip} />
              <Row label="User agent" value={event.actor.userAgent} />
            </Table.Tbody>
          </Table>
          <Group gap="xs">
            {event.actor.id ? (
              <Button size="xs" variant="light" onClick={() => onFilter({ actor: event.actor.id ?? '' })}>
                Events by this actor
              </Button>
            ) : null}
            {event.actor.ip ? (
              <Button size="xs" variant="light" onClick={() => onFilter({ ip: event.actor.ip ?? '' })}>
                Events from this address
              </Button>
            ) : null}
          </Group>

          <Title order={3}>Targets</Title>
          {event.targets.length === 0 ? (
            <Text size="sm" c="dimmed">
              This event names no target.
            </Text>
          ) : (
            <Table aria-label="Targets">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Id</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Filter</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {event.targets.map((t) => (
                  <Table.Tr key={`${t.type}:${t.id}`}>
                    <Table.Td>{t.type}</Table.Td>
                    <Table.Td>
                      <Code>{t.id}</Code>
                    </Table.Td>
                    <Table.Td>{t.name ?? ''}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="subtle"
                        aria-label={`Events naming it: ${t.id}`}
                        onClick={() => onFilter({ target: t.id })}
                      >
                        Events naming it
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}

          <Title order={3}>Metadata</Title>
          <Code block data-testid="event-metadata">
            {JSON.stringify(event.metadata, null, 2)}
          </Code>

          <Title order={3}>Chain</Title>
          <Table>
            <Table.Tbody>
              <Row label="Event id" value={event.id} />
              <Row label="Sequence" value={event.seq} />
              <Row label="Request id" value={event.requestId} />
              <Row label="Previous hash" value={event.prevHash} />
              <Row label="Hash" value={event.hash} />
            </Table.Tbody>
          </Table>
          <CopyButton value={event.hash}>
            {({ copied, copy }) => (
              <Button size="xs" variant="light" onClick={copy} w="fit-content">
                {copied ? 'Hash copied' : 'Copy hash'}
              </Button>
            )}
          </CopyButton>
        </Stack>
      ) : null}
    </Drawer>
  );
}
