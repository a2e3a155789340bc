import { Alert, Anchor, Badge, Card, Group, NumberInput, Stack, Switch, Table, Tabs, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { ConfirmButton, CopyValue, Loading } from '../domains/widgets';
import { when } from '../domains/words';
import { RoleMappingEditor } from './RoleMappingEditor';
import { SyncLog } from './SyncLog';
import type { Directory } from './types';

export type DirectoryTab = 'connection' | 'roles' | 'log';

/** The token, shown once: after creating the directory or rotating its token. */
function NewToken({ token }: { token: string }) {
  return (
    <Alert color="yellow" variant="light" title="Copy the bearer token now" data-testid="new-token">
      <Stack gap="xs">
        <Text size="sm">
          Paste it into your identity provider's SCIM settings. It is shown this once: Palisade keeps only a hash.
        </Text>
        <CopyValue label="Bearer token" value={token} testId="token" />
      </Stack>
    </Alert>
  );
}

function Connection({
  orgId,
  d,
  token,
  setToken,
}: {
  orgId: string;
  d: Directory;
  token: string | null;
  setToken: (t: string) => void;
}) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [overlap, setOverlap] = useState<number | string>(24);
  const key = ['org', orgId, 'scim', d.id];
  const rotate = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/scim/directories/{directoryId}/rotate-token', {
          params: { path: { orgId, directoryId: d.id } },
          body: { overlapHours: Number(overlap) },
        }),
      ),
    onSuccess: (r) => {
      qc.setQueryData(key, r.directory);
      setToken(r.token);
    },
  });
  const update = useMutation({
    mutationFn: (roleSync: boolean) =>
      data(
        api.PATCH('/api/v1/orgs/{orgId}/scim/directories/{directoryId}', {
          params: { path: { orgId, directoryId: d.id } },
          body: { roleSync },
        }),
      ),
    onSuccess: (next) => {
      qc.setQueryData(key, next);
      void qc.invalidateQueries({ queryKey: ['org', orgId, 'scim'], exact: true });
      notifyDone(next.roleSync ? 'Group-driven roles are on and were applied.' : 'Group-driven roles are off.');
    },
  });
  const remove = useMutation({
    mutationFn: () =>
      data(
        api.DELETE('/api/v1/orgs/{orgId}/scim/directories/{directoryId}', {
          params: { path: { orgId, directoryId: d.id } },
        }),
      ),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'scim'] });
      notifyDone(`Directory "${d.name}" deleted.`);
      navigate(`/orgs/${orgId}/scim`);
    },
  });
  const overlapOk = typeof overlap === 'number' && Number.isInteger(overlap) && overlap >= 0 && overlap <= 168;
  return (
    <Stack>
      {token ? <NewToken token={token} /> : null}
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Identity provider settings
          </Title>
          <CopyValue label="SCIM base URL" value={d.baseUrl} testId="base-url" />
          <Text size="sm" fw={600}>
            Bearer tokens in use
          </Text>
          <Table data-testid="tokens">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Token starts with</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Ends</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {d.tokens.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>
                    <code>{t.prefix}…</code>
                  </Table.Td>
                  <Table.Td>{when(t.createdAt)}</Table.Td>
                  <Table.Td>{t.lastUsedAt ? when(t.lastUsedAt) : 'Never'}</Table.Td>
                  <Table.Td>{t.expiresAt ? when(t.expiresAt) : 'When rotated'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group align="end">
            <NumberInput
              label="Old token keeps working for (hours)"
              description="0 ends it now; at most 168"
              min={0}
              max={168}
              value={overlap}
              onChange={setOverlap}
              error={overlapOk ? null : 'A whole number of hours from 0 to 168.'}
              w={300}
            />
            <ConfirmButton
              title="Rotate the bearer token?"
              body={
                <Text size="sm">
                  A new token is made and shown once.{' '}
                  {Number(overlap) === 0
                    ? 'The current token stops working now: the identity provider fails until it has the new one.'
                    : `The current token keeps working for ${overlap} hours, time to paste the new one into the identity provider.`}
                </Text>
              }
              confirmLabel="Rotate token"
              onConfirm={() => rotate.mutate()}
              loading={rotate.isPending}
              disabled={!overlapOk}
            >
              Rotate token…
            </ConfirmButton>
          </Group>
          <ApiErrorAlert error={rotate.error} title="The token was not rotated" />
        </Stack>
      </Card>
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Roles from groups
          </Title>
          <Switch
            label="Group-driven roles: members' roles follow the role mapping (turning this on applies it now)"
            checked={d.roleSync}
            disabled={update.isPending}
            onChange={(e) => update.mutate(e.currentTarget.checked)}
          />
          <ApiErrorAlert error={update.error} title="The change was not applied" />
        </Stack>
      </Card>
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Delete
          </Title>
          <Text size="sm">Deleting the directory ends its tokens: the identity provider can no longer provision.</Text>
          <Group>
            <ConfirmButton
              title={`Delete "${d.name}"?`}
              body={<Text size="sm">Its tokens stop working at once. Members it provisioned stay members.</Text>}
              confirmLabel="Delete directory"
              onConfirm={() => remove.mutate()}
              loading={remove.isPending}
            >
              Delete directory…
            </ConfirmButton>
          </Group>
          <ApiErrorAlert error={remove.error} title="The directory was not deleted" />
        </Stack>
      </Card>
    </Stack>
  );
}

const TABS: DirectoryTab[] = ['connection', 'roles', 'log'];

export default function DirectoryPage() {
  const orgId = useOrgId();
  const { directoryId = '', tab: tabParam } = useParams();
  const tab: DirectoryTab = TABS.includes(tabParam as DirectoryTab) ? (tabParam as DirectoryTab) : 'connection';
  const navigate = useNavigate();
  const location = useLocation();
  const [token, setToken] = useState<string | null>((location.state as { token?: string } | null)?.token ?? null);
  // Shown once: the token leaves the history state at once, so going back or reloading does not show it again.
  useEffect(() => {
    if ((location.state as { token?: string } | null)?.token)
      navigate(location.pathname, { replace: true, state: null });
  }, [location.state, location.pathname, navigate]);
  const dir = useQuery({
    queryKey: ['org', orgId, 'scim', directoryId],
    queryFn: () =>
      data(
        api.GET('/api/v1/orgs/{orgId}/scim/directories/{directoryId}', { params: { path: { orgId, directoryId } } }),
      ),
  });
  if (dir.isError) return <ApiErrorAlert error={dir.error} title="This directory could not be loaded" />;
  if (!dir.data) return <Loading label="Loading the directory" />;
  const d = dir.data;
  const base = `/orgs/${orgId}/scim/${d.id}`;
  return (
    <Stack maw={1100}>
      <Anchor component={Link} to={`/orgs/${orgId}/scim`} size="sm">
        ← All directories
      </Anchor>
      <Group>
        <Title order={1}>{d.name}</Title>
        <Badge variant="filled" color={d.roleSync ? 'teal.9' : 'gray.8'}>
          {d.roleSync ? 'Roles from groups' : 'Roles not synced'}
        </Badge>
      </Group>
      <Tabs
        value={tab}
        onChange={(t) => navigate(t === 'connection' ? base : `${base}/${t}`, { replace: true })}
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="connection">Connection</Tabs.Tab>
          <Tabs.Tab value="roles">Role mapping</Tabs.Tab>
          <Tabs.Tab value="log">Sync log</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="connection" pt="md">
          <Connection orgId={orgId} d={d} token={token} setToken={setToken} />
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="md">
          <RoleMappingEditor orgId={orgId} directory={d} />
        </Tabs.Panel>
        <Tabs.Panel value="log" pt="md">
          <SyncLog orgId={orgId} directoryId={d.id} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
