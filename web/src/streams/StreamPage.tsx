import {
  Anchor,
  Button,
  Code,
  CopyButton,
  Group,
  Loader,
  Paper,
  PasswordInput,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ApiErrorAlert, notifyDone, notifyError } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { ConfirmModal } from '../components/ConfirmModal';
import { KIND_LABEL, StateBadge, destinationOf, time } from './health';
import { useDeleteStream, useRetryStream, useStream, useTestStream, useUpdateStream } from './queries';
import type { StreamView } from './types';
import { NEEDS_TOKEN } from './validate';

function Health({ s }: { s: StreamView }) {
  const h = s.health;
  const rows: [string, string][] = [
    ['Lag', `${h.lag} event${h.lag === 1 ? '' : 's'} waiting (delivered up to ${h.cursorSeq} of ${h.headSeq})`],
    ['Last delivered', time(h.lastSuccessAt)],
    ['Failures in a row', String(h.consecutiveFailures)],
    [
      'Next attempt',
      s.status === 'dead_letter'
        ? 'none until retried'
        : s.status === 'paused'
          ? 'none while paused'
          : h.nextAttemptAt
            ? time(h.nextAttemptAt)
            : h.lag > 0
              ? 'at the next run'
              : '—',
    ],
    ['Last error', h.lastError ? `${h.lastError} (${time(h.lastErrorAt)})` : 'none'],
  ];
  if (h.stalled) rows.push(['Stalled', `since ${time(h.stalled.since)}: ${h.stalled.reason}`]);
  return (
    <Table aria-label="Delivery health" data-testid="stream-health">
      <Table.Tbody>
        <Table.Tr>
          <Table.Th w={180} scope="row">
            State
          </Table.Th>
          <Table.Td>
            <StateBadge s={s} />
          </Table.Td>
        </Table.Tr>
        {rows.map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th scope="row">{k}</Table.Th>
            <Table.Td data-field={k}>{v}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** One destination: health, test event with the receiver's answer, dead-letter retry, edit, delete. */
export default function StreamPage() {
  const orgId = useOrgId();
  const streamId = useParams().streamId ?? '';
  const navigate = useNavigate();
  const stream = useStream(orgId, streamId);
  const update = useUpdateStream(orgId, streamId);
  const test = useTestStream(orgId, streamId);
  const retry = useRetryStream(orgId, streamId);
  const del = useDeleteStream(orgId, streamId);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [token, setToken] = useState('');
  const [tokenError, setTokenError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | null>(null);
  const s = stream.data;
  const savedName = s?.name;
  useEffect(() => {
    if (savedName !== undefined) setName(savedName);
  }, [savedName]);

  if (stream.isError) return <ApiErrorAlert error={stream.error} title="This destination could not be opened" />;
  if (!s) return <Loader role="status" aria-label="Loading the destination" />;

  const rename = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    const problem = !n ? 'Name the destination.' : n.length > 100 ? 'At most 100 characters.' : null;
    setNameError(problem);
    if (problem) return;
    update.mutate({ name: n }, { onSuccess: () => notifyDone('Renamed'), onError: (err) => notifyError(err) });
  };
  const replaceToken = (e: FormEvent) => {
    e.preventDefault();
    const problem = token.length < 8 || token.length > 500 ? 'From 8 to 500 characters.' : null;
    setTokenError(problem);
    if (problem) return;
    update.mutate(
      { token },
      {
        onSuccess: () => {
          setToken('');
          notifyDone('Credential replaced');
        },
        onError: (err) => notifyError(err),
      },
    );
  };

  return (
    <Stack maw={1000}>
      <Anchor component={Link} to={`/orgs/${orgId}/streams`} size="sm">
        All destinations
      </Anchor>
      <Title order={1}>{s.name}</Title>
      <Text size="sm">
        {KIND_LABEL[s.kind]} to <Code>{destinationOf(s)}</Code>, format {s.format}
        {s.secretHint ? `, credential …${s.secretHint}` : ''}.
      </Text>

      <Paper withBorder p="md">
        <Stack>
          <Title order={2}>Health</Title>
          <Health s={s} />
          <Group>
            {s.status === 'dead_letter' || s.health.consecutiveFailures > 0 ? (
              <Button
                loading={retry.isPending}
                onClick={() =>
                  retry.mutate(undefined, {
                    onSuccess: () => notifyDone('Delivery resumes from the cursor'),
                    onError: (err) => notifyError(err, 'The destination was not retried'),
                  })
                }
              >
                {s.status === 'dead_letter' ? 'Retry from dead letter' : 'Retry now'}
              </Button>
            ) : null}
            <Button
              variant="default"
              loading={update.isPending && update.variables?.paused !== undefined}
              onClick={() =>
                update.mutate(
                  { paused: s.status !== 'paused' },
                  { onError: (err) => notifyError(err, 'The destination was not changed') },
                )
              }
            >
              {s.status === 'paused' ? 'Resume delivery' : 'Pause delivery'}
            </Button>
          </Group>
          {s.status === 'dead_letter' ? (
            <Text size="sm">
              Delivery stopped after a permanent refusal or repeated failures. Fix the receiver (the last error says
              what it answered), then retry: delivery resumes from the first event not delivered, so nothing is lost.
            </Text>
          ) : null}
        </Stack>
      </Paper>

      <Paper withBorder p="md">
        <Stack>
          <Title order={2}>Test</Title>
          <Text size="sm">
            Sends one synthetic event (stream.test_sent; not in the audit chain, the cursor does not move) and shows
            what the receiver answered.
          </Text>
          <Group>
            <Button onClick={() => test.mutate()} loading={test.isPending}>
              Send test event
            </Button>
          </Group>
          <ApiErrorAlert error={test.error} title="The test could not be sent" />
          {test.data ? (
            <Paper withBorder p="sm" data-testid="test-result" role="status">
              <Stack gap={4}>
                <Text fw={700} c={test.data.ok ? 'teal.9' : 'red.9'}>
                  {test.data.ok ? 'The receiver accepted the test event' : 'The receiver did not accept the test event'}
                  {test.data.status !== undefined ? ` (HTTP ${test.data.status})` : ''}
                </Text>
                {test.data.error ? <Text size="sm">{test.data.error}</Text> : null}
                {test.data.response ? (
                  <>
                    <Text size="sm">It answered:</Text>
                    <Code block data-testid="test-response">
                      {test.data.response}
                    </Code>
                  </>
                ) : null}
                {test.data.permanent ? (
                  <Text size="sm">This refusal is permanent: real deliveries would go to dead letter.</Text>
                ) : null}
                <Text size="xs" c="dimmed">
                  Test event {test.data.eventId}
                </Text>
              </Stack>
            </Paper>
          ) : null}
        </Stack>
      </Paper>

      <Paper withBorder p="md">
        <Stack>
          <Title order={2}>Settings</Title>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <form onSubmit={rename} aria-label="Rename" noValidate>
              <Group align="start">
                <TextInput
                  label="Name"
                  value={name}
                  error={nameError}
                  onChange={(e) => {
                    setName(e.currentTarget.value);
                    setNameError(null);
                  }}
                />
                <Button type="submit" variant="default" mt={24}>
                  Rename
                </Button>
              </Group>
            </form>
            {NEEDS_TOKEN.includes(s.kind) ? (
              <form onSubmit={replaceToken} aria-label="Replace the credential" noValidate>
                <Group align="start">
                  <PasswordInput
                    label={s.kind === 'datadog' ? 'New Datadog API key' : 'New HEC token'}
                    value={token}
                    error={tokenError}
                    autoComplete="off"
                    onChange={(e) => {
                      setToken(e.currentTarget.value);
                      setTokenError(null);
                    }}
                  />
                  <Button type="submit" variant="default" mt={24}>
                    Replace
                  </Button>
                </Group>
              </form>
            ) : null}
            {s.kind === 'webhook' ? (
              <Stack gap={6}>
                <Button variant="default" onClick={() => setConfirm('rotate')} w="fit-content">
                  Rotate the signing secret…
                </Button>
                {secret ? (
                  <Group data-testid="new-webhook-secret">
                    <Code>{secret}</Code>
                    <CopyButton value={secret}>
                      {({ copied, copy }) => (
                        <Button size="xs" variant="light" onClick={copy}>
                          {copied ? 'Copied' : 'Copy secret'}
                        </Button>
                      )}
                    </CopyButton>
                  </Group>
                ) : null}
              </Stack>
            ) : null}
          </SimpleGrid>
          <Group>
            <Button color="red.9" variant="outline" onClick={() => setConfirm('delete')}>
              Delete destination…
            </Button>
          </Group>
        </Stack>
      </Paper>

      <ConfirmModal
        opened={confirm === 'delete'}
        title={`Delete ${s.name}?`}
        confirmLabel="Delete destination"
        loading={del.isPending}
        error={del.error}
        onClose={() => {
          del.reset();
          setConfirm(null);
        }}
        onConfirm={() =>
          del.mutate(undefined, {
            onSuccess: () => {
              notifyDone(`${s.name} deleted`);
              void navigate(`/orgs/${orgId}/streams`);
            },
          })
        }
      >
        <Text size="sm">
          Events are no longer sent to {destinationOf(s)}; {s.health.lag} waiting event(s) will not be delivered there.
          Adding it again starts from new events or from everything still retained.
        </Text>
      </ConfirmModal>
      <ConfirmModal
        opened={confirm === 'rotate'}
        title="Rotate the webhook signing secret?"
        confirmLabel="Rotate secret"
        loading={update.isPending}
        error={update.error}
        onClose={() => {
          update.reset();
          setConfirm(null);
        }}
        onConfirm={() =>
          update.mutate(
            { rotateWebhookSecret: true },
            {
              onSuccess: (r) => {
                setSecret(r.webhookSecret ?? null);
                setConfirm(null);
              },
            },
          )
        }
      >
        <Text size="sm">
          The next requests are signed with a new secret, shown once. The receiver refuses them until it has the new
          secret.
        </Text>
      </ConfirmModal>
    </Stack>
  );
}
