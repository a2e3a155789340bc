import {
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Loader,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { ConfirmModal } from '../components/ConfirmModal';
import { useCreateGatewayKey, useGatewayKeys, useRevokeGatewayKey } from './queries';
import type { GatewayKey } from './types';

const day = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '');

/** Gateway keys (pls_gwk_…): admins see and revoke everyone's; a new key is shown once. */
export function KeysSection({ orgId }: { orgId: string }) {
  const keys = useGatewayKeys(orgId);
  const create = useCreateGatewayKey(orgId);
  const revoke = useRevokeGatewayKey(orgId);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<GatewayKey | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    const problem = !n ? 'Name the key (where it is used).' : n.length > 100 ? 'At most 100 characters.' : null;
    setNameError(problem);
    if (problem) return;
    create.mutate(n, {
      onSuccess: (r) => {
        setName('');
        setShown(r.key);
      },
    });
  };

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Gateway keys</Title>
        <form onSubmit={submit} aria-label="Create a gateway key" noValidate>
          <Group align="start">
            <TextInput
              label="Key name"
              value={name}
              error={nameError}
              onChange={(e) => {
                setName(e.currentTarget.value);
                setNameError(null);
              }}
              w={280}
            />
            <Button type="submit" mt={24} loading={create.isPending}>
              Create key
            </Button>
          </Group>
        </form>
        <ApiErrorAlert error={create.error} title="The key was not created" />
        {shown ? (
          <Paper withBorder p="sm" data-testid="new-key">
            <Stack gap={6}>
              <Text size="sm" fw={700}>
                Copy the key now: it is shown only once.
              </Text>
              <Group>
                <Code data-testid="new-key-value">{shown}</Code>
                <CopyButton value={shown}>
                  {({ copied, copy }) => (
                    <Button size="xs" variant="light" onClick={copy}>
                      {copied ? 'Copied' : 'Copy key'}
                    </Button>
                  )}
                </CopyButton>
                <Button size="xs" variant="subtle" onClick={() => setShown(null)}>
                  Done
                </Button>
              </Group>
            </Stack>
          </Paper>
        ) : null}
        <ApiErrorAlert error={keys.error} />
        {keys.isPending ? <Loader role="status" aria-label="Loading gateway keys" /> : null}
        {keys.data ? (
          <Table aria-label="Gateway keys" data-testid="gateway-keys">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Owner</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Action</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.data.map((k) => (
                <Table.Tr key={k.id} data-key={k.id}>
                  <Table.Td>{k.name}</Table.Td>
                  <Table.Td>
                    <Code>{k.prefix}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Code>{k.userId}</Code>
                  </Table.Td>
                  <Table.Td>{day(k.createdAt)}</Table.Td>
                  <Table.Td>{day(k.lastUsedAt)}</Table.Td>
                  <Table.Td>
                    <Badge variant="filled" color={k.revokedAt ? 'gray.8' : 'teal.9'}>
                      {k.revokedAt ? 'revoked' : 'active'}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    {k.revokedAt ? null : (
                      <Button
                        size="xs"
                        variant="default"
                        aria-label={`Revoke ${k.name}`}
                        onClick={() => setRevoking(k)}
                      >
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : null}
        {keys.data?.data.length === 0 ? <Text size="sm">No gateway key yet.</Text> : null}
      </Stack>
      <ConfirmModal
        opened={revoking !== null}
        title={`Revoke the key ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke key"
        loading={revoke.isPending}
        error={revoke.error}
        onClose={() => {
          revoke.reset();
          setRevoking(null);
        }}
        onConfirm={() =>
          revoking &&
          revoke.mutate(revoking.id, {
            onSuccess: () => {
              setRevoking(null);
              notifyDone('Key revoked');
            },
          })
        }
      >
        <Text size="sm">Programs using it ({revoking?.prefix}…) are refused from now on. This cannot be undone.</Text>
      </ConfirmModal>
    </Paper>
  );
}
