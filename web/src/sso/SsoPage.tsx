import {
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  List,
  NativeSelect,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert, asApiError, notifyDone } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { useSession } from '../app/session';
import { ConfirmButton, Loading } from '../domains/widgets';
import { WARN_COLOR, when } from '../domains/words';
import { TEST_IDP_PRESET, WIZARDS, usePresets } from './presets';
import type { Connection, Impact } from './types';

export const STATUS_COLOR: Record<string, string> = { active: 'teal.9', draft: 'gray.8', disabled: WARN_COLOR };

export function useConnections(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId, 'sso'],
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/sso/connections', { params: { path: { orgId } } })),
  });
}

function Check({ ok, children }: { ok: boolean; children: React.ReactNode }) {
  return (
    <List.Item>
      <Group gap="xs" wrap="nowrap" align="start">
        <Badge variant="filled" color={ok ? 'teal.9' : 'red.9'} miw={70}>
          {ok ? 'Done' : 'Not yet'}
        </Badge>
        <div>{children}</div>
      </Group>
    </List.Item>
  );
}

/**
 * "Members must use SSO" as a checklist: a test login through the connection, a primary owner with
 * break-glass access, and the impact preview read. The button is enabled only when all three pass;
 * the API checks the same conditions again and runs the lockout guard.
 */
function EnforcementCard({ orgId, connections }: { orgId: string; connections: Connection[] }) {
  const qc = useQueryClient();
  const session = useSession();
  const enforcement = useQuery({
    queryKey: ['org', orgId, 'sso', 'enforcement'],
    queryFn: async () => await data(api.GET('/api/v1/orgs/{orgId}/sso/enforcement', { params: { path: { orgId } } })),
  });
  const totp = useQuery({
    queryKey: ['me', 'totp'],
    queryFn: async () => await data(api.GET('/api/v1/me/totp')),
  });
  const active = connections.filter((c) => c.status === 'active');
  const [chosen, setChosen] = useState<string>('');
  const conn = active.find((c) => c.id === chosen) ?? active[0];
  const [impact, setImpact] = useState<{ connectionId: string; impact: Impact } | null>(null);
  const [acknowledged, setAcknowledged] = useState(false);
  const preview = useMutation({
    mutationFn: (connectionId: string) =>
      data(
        api.POST('/api/v1/orgs/{orgId}/sso/connections/{connectionId}/impact', {
          params: { path: { orgId, connectionId } },
          body: {},
        }),
      ),
    onSuccess: (r, connectionId) => {
      setImpact({ connectionId, impact: r });
      setAcknowledged(false);
    },
  });
  const enforce = useMutation({
    mutationFn: (acknowledge: boolean) =>
      data(
        api.PUT('/api/v1/orgs/{orgId}/sso/enforcement', {
          params: { path: { orgId } },
          body: { connectionId: conn!.id, ...(acknowledge ? { acknowledgeWarnings: true } : {}) },
        }),
      ),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso', 'enforcement'] });
      notifyDone('Single sign-on is now required for members.');
    },
  });
  const stop = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/orgs/{orgId}/sso/enforcement', { params: { path: { orgId } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso', 'enforcement'] });
      notifyDone('Members may sign in with a password again.');
    },
  });

  if (enforcement.isError) return <ApiErrorAlert error={enforcement.error} />;
  if (!enforcement.data) return <Loading label="Loading enforcement" />;
  const e = enforcement.data;
  if (e.enforced) {
    const by = connections.find((c) => c.id === e.connectionId);
    return (
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Single sign-on is required
          </Title>
          <Text size="sm" data-testid="enforced">
            Since {when(e.enforcedAt)}, members sign in through “{by?.name ?? e.connectionId}”. Primary owners keep
            break-glass access (password and authenticator code).
          </Text>
          <Group>
            <ConfirmButton
              title="Stop requiring single sign-on?"
              body={<Text size="sm">Members may sign in with a password again. This is audited.</Text>}
              confirmLabel="Stop requiring SSO"
              onConfirm={() => stop.mutate()}
              loading={stop.isPending}
            >
              Stop requiring SSO…
            </ConfirmButton>
          </Group>
          <ApiErrorAlert error={stop.error} />
        </Stack>
      </Card>
    );
  }
  const me = session.data;
  const myRole = me?.memberships.find((m) => m.orgId === orgId)?.role;
  const breakGlass = myRole === 'primary_owner' && !!totp.data?.enrolled;
  const tested = !!conn?.lastTestLoginAt;
  const shown = impact && conn && impact.connectionId === conn.id ? impact.impact : null;
  const impactOk = !!shown && (shown.warnings.length === 0 || acknowledged);
  const ready = !!conn && tested && breakGlass && impactOk;
  return (
    <Card withBorder>
      <Stack gap="sm" data-testid="enforcement">
        <Title order={2} size="h3">
          Require single sign-on
        </Title>
        {active.length === 0 ? (
          <Text size="sm">Add a connection with its identity-provider settings first.</Text>
        ) : (
          <>
            <NativeSelect
              label="Connection members must use"
              data={active.map((c) => ({ value: c.id, label: c.name }))}
              value={conn?.id ?? ''}
              onChange={(ev) => setChosen(ev.currentTarget.value)}
              w={360}
            />
            <List spacing="xs" listStyleType="none">
              <Check ok={tested}>
                <Text size="sm">
                  {tested
                    ? `A test login through “${conn!.name}” succeeded on ${when(conn!.lastTestLoginAt)}.`
                    : `No test login through “${conn!.name}” yet: run one from the connection's page.`}{' '}
                  <Anchor component={Link} to={`connections/${conn!.id}`} size="sm">
                    Open the connection
                  </Anchor>
                </Text>
              </Check>
              <Check ok={breakGlass}>
                <Text size="sm">
                  {breakGlass
                    ? 'You are a primary owner with an authenticator app: break-glass access works if SSO breaks.'
                    : 'A primary owner needs a password and a confirmed authenticator app (break-glass). Enroll under Account security; the API also accepts another primary owner who has.'}
                </Text>
              </Check>
              <Check ok={impactOk}>
                <Stack gap={4}>
                  <Group gap="xs">
                    <Text size="sm">Read the impact: who signs in through this connection and what fails already.</Text>
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() => preview.mutate(conn!.id)}
                      loading={preview.isPending}
                    >
                      Preview impact
                    </Button>
                  </Group>
                  {shown ? (
                    <Text size="sm" data-testid="impact">
                      {shown.checked.members} members checked, {shown.checkedLogins} recent SSO sign-ins replayed:{' '}
                      {shown.warnings.length} would lose access or a role, {shown.degraded.length} degraded,{' '}
                      {shown.preExisting.length} failing already. Members who sign in only with a password will have to
                      use SSO; the API lists anyone left without a way in when you enforce.
                    </Text>
                  ) : null}
                  {shown?.warnings.length ? (
                    <>
                      <List size="sm">
                        {shown.warnings.map((w) => (
                          <List.Item key={`${w.userId}:${w.problem}`}>{w.explanation}</List.Item>
                        ))}
                      </List>
                      <Checkbox
                        label="I have read who loses access and want to go ahead"
                        checked={acknowledged}
                        onChange={(ev) => setAcknowledged(ev.currentTarget.checked)}
                      />
                    </>
                  ) : null}
                  <ApiErrorAlert error={preview.error} title="The impact preview failed" />
                </Stack>
              </Check>
            </List>
            <Group>
              <ConfirmButton
                color="indigo.8"
                variant="filled"
                title="Require single sign-on?"
                body={
                  <Text size="sm">
                    Members must sign in through “{conn?.name}”; their password sessions end at their next request.
                  </Text>
                }
                confirmLabel="Require SSO"
                onConfirm={() => enforce.mutate(acknowledged)}
                loading={enforce.isPending}
                disabled={!ready}
              >
                Require SSO…
              </ConfirmButton>
              {enforce.isError && asApiError(enforce.error).code === 'sso_change_would_lock_out' ? (
                <ConfirmButton
                  title="Require SSO although people lose access?"
                  body={<Text size="sm">The people listed would lose sign-in access. This is audited.</Text>}
                  confirmLabel="Require anyway"
                  onConfirm={() => enforce.mutate(true)}
                >
                  Require anyway…
                </ConfirmButton>
              ) : null}
            </Group>
            <ApiErrorAlert error={enforce.error} title="SSO was not enforced" />
          </>
        )}
      </Stack>
    </Card>
  );
}

export default function SsoPage() {
  const orgId = useOrgId();
  const conns = useConnections(orgId);
  const presets = usePresets();
  return (
    <Stack maw={1100}>
      <Title order={1}>Single sign-on</Title>
      <Title order={2} size="h3">
        Add a connection
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 3, lg: 5 }}>
        {WIZARDS.map((w) => (
          <Button key={w.key} component={Link} to={`new/${w.key}`} variant="default" h={56}>
            {w.label}
          </Button>
        ))}
        {presets.data?.testIdpEnabled ? (
          <Button component={Link} to="new/test-idp" variant="light" color="orange" h={56}>
            Palisade test IdP (not for production)
          </Button>
        ) : null}
      </SimpleGrid>
      {conns.isError ? <ApiErrorAlert error={conns.error} /> : null}
      {conns.isPending ? <Loading label="Loading connections" /> : null}
      {conns.data && conns.data.data.length > 0 ? (
        <Table striped data-testid="connections">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Connection</Table.Th>
              <Table.Th>Protocol</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Last test login</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {conns.data.data.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  <Anchor component={Link} to={`connections/${c.id}`}>
                    {c.name}
                  </Anchor>
                  {c.preset === TEST_IDP_PRESET ? (
                    <Badge ml="xs" variant="light" color="orange">
                      Test IdP
                    </Badge>
                  ) : null}
                </Table.Td>
                <Table.Td>{c.protocol.toUpperCase()}</Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={STATUS_COLOR[c.status] ?? 'gray.8'}>
                    {c.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{c.lastTestLoginAt ? when(c.lastTestLoginAt) : 'Never'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {conns.data && conns.data.data.length === 0 ? <Text size="sm">No connections yet.</Text> : null}
      {conns.data ? <EnforcementCard orgId={orgId} connections={conns.data.data} /> : null}
    </Stack>
  );
}
