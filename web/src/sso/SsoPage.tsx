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
import { ConfirmButton, Loading } from '../domains/widgets';
import { WARN_COLOR, when } from '../domains/words';
import { TEST_IDP_PRESET, WIZARDS, usePresets } from './presets';
import type { BreakGlassOwners, Connection, EnforcementDryRun } from './types';

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

const BREAK_GLASS_WORDS: Record<string, string> = {
  ready: 'ready',
  no_authenticator: 'no authenticator app',
  no_password: 'no password',
  authenticator_unreadable: 'authenticator unreadable: enroll again',
  account_suspended: 'account suspended',
};

/** Each primary owner's break-glass status (listSsoBreakGlassOwners): at least one must be ready. */
function BreakGlassList({ owners }: { owners: BreakGlassOwners['owners'] }) {
  return (
    <List size="sm" data-testid="break-glass-owners">
      {owners.map((o) => (
        <List.Item key={o.userId}>
          {o.email}:{' '}
          <Badge variant="light" color={o.ready ? 'teal.9' : 'red.9'} size="sm">
            {BREAK_GLASS_WORDS[o.status] ?? o.status}
          </Badge>
        </List.Item>
      ))}
    </List>
  );
}

/** The dry run's people: who loses password sign-in, and who never signed in through the connection. */
function DryRunPeople({ run }: { run: EnforcementDryRun }) {
  return (
    <Stack gap={4} data-testid="dry-run-people">
      <Text size="sm">
        {run.totals.losePasswordSignIn} of {run.totals.members} members would lose password sign-in;{' '}
        {run.totals.withoutSsoIdentity} have never signed in through “{run.connection.name}”.
      </Text>
      {run.losePasswordSignIn.length > 0 ? (
        <Table withTableBorder fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Loses password sign-in</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Signed in through SSO before</Table.Th>
              <Table.Th>Keeps break-glass</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {run.losePasswordSignIn.map((p) => (
              <Table.Tr key={p.userId}>
                <Table.Td>{p.email}</Table.Td>
                <Table.Td>{p.role.replace('_', ' ')}</Table.Td>
                <Table.Td>{p.hasSsoIdentity ? 'Yes' : 'No'}</Table.Td>
                <Table.Td>{p.keepsBreakGlass ? 'Yes' : 'No'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {run.withoutSsoIdentity.some((p) => !p.hasPassword) ? (
        <Text size="sm">
          Without a password and without an SSO identity yet:{' '}
          {run.withoutSsoIdentity
            .filter((p) => !p.hasPassword)
            .map((p) => p.email)
            .join(', ')}
          .
        </Text>
      ) : null}
    </Stack>
  );
}

/**
 * "Members must use SSO" as a checklist: a test login through the connection, a primary owner with
 * break-glass access (each owner's status listed), and the dry run read (dryRunSsoEnforcement: who
 * loses password sign-in, who has no SSO identity yet, the lockout guard's answer). The button is
 * enabled only when all three pass; the API checks the same conditions again and runs the guard.
 */
function EnforcementCard({ orgId, connections }: { orgId: string; connections: Connection[] }) {
  const qc = useQueryClient();
  const enforcement = useQuery({
    queryKey: ['org', orgId, 'sso', 'enforcement'],
    queryFn: async () => await data(api.GET('/api/v1/orgs/{orgId}/sso/enforcement', { params: { path: { orgId } } })),
  });
  const owners = useQuery({
    queryKey: ['listSsoBreakGlassOwners', orgId],
    queryFn: async () => await data(api.GET('/api/v1/orgs/{orgId}/sso/break-glass', { params: { path: { orgId } } })),
  });
  const active = connections.filter((c) => c.status === 'active');
  const [chosen, setChosen] = useState<string>('');
  const conn = active.find((c) => c.id === chosen) ?? active[0];
  const [run, setRun] = useState<EnforcementDryRun | null>(null);
  const [acknowledged, setAcknowledged] = useState(false);
  const preview = useMutation({
    mutationFn: (connectionId: string) =>
      data(
        api.POST('/api/v1/orgs/{orgId}/sso/enforcement/dry-run', {
          params: { path: { orgId } },
          body: { connectionId },
        }),
      ),
    onSuccess: (r) => {
      setRun(r);
      setAcknowledged(false);
      // The dry run read the owners' status too: the list above shows the same answer.
      qc.setQueryData(['listSsoBreakGlassOwners', orgId], {
        owners: r.breakGlassOwners,
        anyReady: r.breakGlassOwners.some((o) => o.ready),
      });
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
          {owners.data ? <BreakGlassList owners={owners.data.owners} /> : null}
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
  const shown = run && conn && run.connection.id === conn.id ? run : null;
  // The dry run's answer when there is one (it is the API's own reading), else what the lists say.
  const tested = shown ? shown.testLogin.recent : !!conn?.lastTestLoginAt;
  const breakGlass = !!owners.data?.anyReady;
  const impactOk = !!shown && (shown.warnings.length === 0 || acknowledged);
  const ready = !!conn && tested && breakGlass && impactOk && (!shown || shown.ready);
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
                  {conn!.lastTestLoginAt
                    ? `A test login through “${conn!.name}” succeeded on ${when(conn!.lastTestLoginAt)}.`
                    : `No test login through “${conn!.name}” yet: run one from the connection's page.`}
                  {shown && shown.testLogin.lastAt && !shown.testLogin.recent
                    ? ` It is older than ${shown.testLogin.maxAgeDays} days: run a new one.`
                    : ''}{' '}
                  <Anchor component={Link} to={`connections/${conn!.id}`} size="sm">
                    Open the connection
                  </Anchor>
                </Text>
              </Check>
              <Check ok={breakGlass}>
                <Stack gap={4}>
                  <Text size="sm">
                    {breakGlass
                      ? 'If SSO breaks, break-glass access works: a primary owner has a password and an authenticator app.'
                      : 'A primary owner needs a password and a confirmed authenticator app (break-glass), enrolled under Account security.'}
                  </Text>
                  {owners.data ? <BreakGlassList owners={owners.data.owners} /> : null}
                  <ApiErrorAlert error={owners.error} title="The owners' break-glass status could not be read" />
                </Stack>
              </Check>
              <Check ok={impactOk}>
                <Stack gap={4}>
                  <Group gap="xs">
                    <Text size="sm">
                      Read the dry run: who loses password sign-in, who never signed in through SSO, who would be locked
                      out.
                    </Text>
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
                    <Stack gap={4} data-testid="impact">
                      <Text size="sm">
                        {shown.checked.members} members checked, {shown.checked.ssoSignIns} recent SSO sign-ins
                        replayed: {shown.warnings.length} would lose access or a role, {shown.degraded.length} degraded,{' '}
                        {shown.preExisting.length} failing already.
                      </Text>
                      <DryRunPeople run={shown} />
                      {shown.missing.length ? (
                        <List size="sm" data-testid="dry-run-missing">
                          {shown.missing.map((m) => (
                            <List.Item key={m}>Missing: {m}</List.Item>
                          ))}
                        </List>
                      ) : null}
                    </Stack>
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
                  <ApiErrorAlert error={preview.error} title="The dry run failed" />
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
