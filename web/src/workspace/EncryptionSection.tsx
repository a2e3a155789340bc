import { Badge, Button, Code, Group, Loader, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { ApiErrorAlert, notifyDone, notifyError } from '../app/errors';
import { ConfirmModal } from '../components/ConfirmModal';
import { useEncryption, useRotateKey, useShredKeys } from './queries';

/** Data keys of the organization under the installation's key-encryption key; rotation; crypto-shredding. */
export function EncryptionSection({ orgId }: { orgId: string }) {
  const enc = useEncryption(orgId);
  const rotate = useRotateKey(orgId);
  const shred = useShredKeys(orgId);
  const [shredding, setShredding] = useState(false);
  const e = enc.data;

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Encryption</Title>
        <ApiErrorAlert error={enc.error} />
        {enc.isPending ? <Loader role="status" aria-label="Loading encryption status" /> : null}
        {e ? (
          <>
            <Text size="sm" data-testid="encryption-status">
              Content is sealed with AES-256-GCM under this organization&apos;s data keys, wrapped by the {e.provider}{' '}
              key-encryption key <Code>{e.currentKekId}</Code>.
              {e.shreddedAt ? ` Crypto-shredded at ${e.shreddedAt}: content sealed before then is unreadable.` : ''}
            </Text>
            <Table aria-label="Data keys" data-testid="data-keys">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Wrapped by</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Re-wrapped</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {e.keys.map((k) => (
                  <Table.Tr key={k.version} data-key-version={k.version}>
                    <Table.Td>{k.version}</Table.Td>
                    <Table.Td>
                      <Badge
                        variant="filled"
                        color={k.status === 'active' ? 'teal.9' : k.status === 'destroyed' ? 'red.9' : 'gray.8'}
                      >
                        {k.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Code>{k.kekId}</Code>
                    </Table.Td>
                    <Table.Td>{k.createdAt.slice(0, 19).replace('T', ' ')}</Table.Td>
                    <Table.Td>{k.rewrappedAt ? k.rewrappedAt.slice(0, 19).replace('T', ' ') : ''}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {e.keys.length === 0 ? (
              <Text size="sm">No data key yet: one is made with the first sealed content.</Text>
            ) : null}
            <Group>
              <Button
                variant="default"
                loading={rotate.isPending}
                onClick={() =>
                  rotate.mutate(undefined, {
                    onSuccess: (v) =>
                      notifyDone(
                        `Data key rotated: new content uses version ${Math.max(0, ...v.keys.map((k) => k.version))}`,
                      ),
                    onError: (err) => notifyError(err, 'The key was not rotated'),
                  })
                }
              >
                Rotate data key
              </Button>
              <Button color="red.9" onClick={() => setShredding(true)} disabled={Boolean(e.shreddedAt)}>
                Crypto-shred…
              </Button>
            </Group>
            <Text size="xs" c="dimmed">
              Rotating makes a new key version for new content; older content stays readable with its own version.
              Crypto-shredding destroys every data key, which makes all content stored so far unreadable, everywhere,
              forever (primary owners only).
            </Text>
          </>
        ) : null}
      </Stack>
      <ConfirmModal
        opened={shredding}
        title="Crypto-shred this organization's content?"
        confirmLabel="Destroy the keys"
        typeToConfirm={orgId}
        loading={shred.isPending}
        error={shred.error}
        onClose={() => {
          shred.reset();
          setShredding(false);
        }}
        onConfirm={() =>
          shred.mutate(orgId, {
            onSuccess: () => {
              setShredding(false);
              notifyDone('Data keys destroyed: stored content is unreadable');
            },
          })
        }
      >
        <Text size="sm">
          Every data key of this organization is destroyed. Conversations, files and stored provider credentials sealed
          with them can never be read again, by anyone, from any copy or backup. This cannot be undone.
        </Text>
      </ConfirmModal>
    </Paper>
  );
}
