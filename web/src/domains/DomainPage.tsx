import { Anchor, Badge, Button, Card, Group, Stack, Switch, Text, Timeline, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert, asApiError, notifyDone } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { Diagnosis } from './Diagnosis';
import { ConfirmButton, CopyValue, Loading } from './widgets';
import { STATUS_COLOR, STATUS_WORDS, when } from './words';

type Domain = Ok<'getDomain'>;
type CheckResult = Ok<'verifyDomain'>;
type Settings = { includeSubdomains?: boolean; autoJoin?: boolean };

const LOCKOUT = 'sso_change_would_lock_out';

function RecordToPublish({ d }: { d: Domain }) {
  const i = d.instructions;
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          The record to publish
        </Title>
        <Text size="sm">
          At your DNS provider, add a <b>TXT</b> record with this name and value (TTL {i.ttl} seconds is fine). Some
          consoles want only the part before <b>.{d.domain}</b> as the name, in the zone {d.domain}. Keep the record in
          place: Palisade checks it again regularly.
        </Text>
        <CopyValue label="Record name" value={i.recordName} testId="record-name" />
        <CopyValue label="Record value" value={i.value} testId="record-value" />
        <CopyValue label="Zone-file line" value={i.zoneFileLine} testId="zone-file-line" />
      </Stack>
    </Card>
  );
}

const EVENT_WORDS: Record<string, string> = {
  'domain.verified': 'Verified',
  'domain.failing': 'Started failing (grace period began)',
  'domain.expired': 'Expired (capture stopped)',
  'domain.recovered': 'Recovered (verified again)',
};

/** This domain's state changes as the API recorded them (the webhook-ready notifications), newest first. */
function useTransitions(orgId: string, domainId: string, updatedAt: string) {
  return useQuery({
    // Read again whenever the domain changed.
    queryKey: ['org', orgId, 'domain-notifications', domainId, updatedAt],
    queryFn: async () => {
      const mine: { id: string; event: string; createdAt: string }[] = [];
      let cursor: string | undefined;
      do {
        const page = await data(
          api.GET('/api/v1/orgs/{orgId}/domain-notifications', {
            params: { path: { orgId }, query: { limit: 200, cursor } },
          }),
        );
        mine.push(...page.data.filter((n) => n.domainId === domainId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return mine.reverse();
    },
  });
}

/** verified → failing → expired, with the dates this domain went through and the grace deadline. */
function StateTimeline({ d, orgId }: { d: Domain; orgId: string }) {
  const active = { pending: 0, verified: 1, failing: 2, expired: 3 }[d.status];
  const transitions = useTransitions(orgId, d.id, d.updatedAt);
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          State
        </Title>
        <Timeline active={active} bulletSize={18} lineWidth={2} data-testid="timeline">
          <Timeline.Item title="Added">
            <Text size="sm">{when(d.createdAt)}</Text>
            {d.status === 'pending' ? (
              <Text size="sm">Waiting for the TXT record: publish it, then check now.</Text>
            ) : null}
          </Timeline.Item>
          <Timeline.Item title="Verified">
            <Text size="sm">
              {d.verifiedAt ? `${when(d.verifiedAt)}; last good check ${when(d.lastGoodCheckAt)}` : 'Not yet'}
            </Text>
            {d.capturesLogins ? (
              <Text size="sm">People with an email address at {d.unicodeDomain} are routed to this organization.</Text>
            ) : null}
          </Timeline.Item>
          <Timeline.Item title="Failing">
            {d.failingSince ? (
              <>
                <Text size="sm">Since {when(d.failingSince)}: the record no longer holds the value.</Text>
                <Text size="sm" fw={600} data-testid="grace-deadline">
                  Grace period ends {when(d.graceUntil)}. Capture continues until then; fix the record before it ends.
                </Text>
              </>
            ) : (
              <Text size="sm">
                If the record disappears, the domain keeps capturing sign-ins for a grace period before it expires.
              </Text>
            )}
          </Timeline.Item>
          <Timeline.Item title="Expired">
            <Text size="sm">
              {d.expiredAt
                ? `${when(d.expiredAt)}: capture stopped. Publish the record and check again to verify it anew.`
                : 'Capture stops when the grace period ends without a good check.'}
            </Text>
          </Timeline.Item>
        </Timeline>
        {transitions.data?.length ? (
          <Stack gap={2} data-testid="transitions">
            <Text size="sm" fw={600}>
              History
            </Text>
            {transitions.data.map((t) => (
              <Text size="sm" key={t.id}>
                {when(t.createdAt)}: {EVENT_WORDS[t.event] ?? t.event}
              </Text>
            ))}
          </Stack>
        ) : null}
        <ApiErrorAlert error={transitions.error} title="The history could not be loaded" />
      </Stack>
    </Card>
  );
}

/** Capture of subdomains and auto-join. The lockout guard may refuse; the person can then apply it knowingly. */
function DomainSettings({ d, orgId }: { d: Domain; orgId: string }) {
  const qc = useQueryClient();
  const [pending, setPending] = useState<Settings | null>(null);
  const save = useMutation({
    mutationFn: ({ change, acknowledge }: { change: Settings; acknowledge: boolean }) =>
      data(
        api.PATCH('/api/v1/orgs/{orgId}/domains/{domainId}', {
          params: { path: { orgId, domainId: d.id } },
          body: { ...change, ...(acknowledge ? { acknowledgeWarnings: true } : {}) },
        }),
      ),
    onMutate: ({ change }) => setPending(change),
    onSuccess: (next) => {
      setPending(null);
      qc.setQueryData(['org', orgId, 'domains', d.id], next);
      void qc.invalidateQueries({ queryKey: ['org', orgId, 'domains'], exact: true });
      notifyDone('Domain settings saved.');
    },
  });
  const lockout = save.isError && asApiError(save.error).code === LOCKOUT;
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          Capture and auto-join
        </Title>
        <Switch
          label="Include subdomains: people at names under this domain are routed here too"
          checked={d.includeSubdomains}
          disabled={save.isPending}
          onChange={(e) => save.mutate({ change: { includeSubdomains: e.currentTarget.checked }, acknowledge: false })}
        />
        <Switch
          label="Auto-join: people at this domain who sign in join as members"
          checked={d.autoJoin}
          disabled={save.isPending}
          onChange={(e) => save.mutate({ change: { autoJoin: e.currentTarget.checked }, acknowledge: false })}
        />
        <ApiErrorAlert error={save.error} title="The change was not applied" />
        {lockout && pending ? (
          <Group>
            <ConfirmButton
              title="Apply although people lose access?"
              body={
                <Text size="sm">The people listed above would lose sign-in access or a role. This is audited.</Text>
              }
              confirmLabel="Apply anyway"
              onConfirm={() => save.mutate({ change: pending, acknowledge: true })}
            >
              Apply anyway…
            </ConfirmButton>
          </Group>
        ) : null}
      </Stack>
    </Card>
  );
}

export default function DomainPage() {
  const orgId = useOrgId();
  const { domainId = '' } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [lastCheck, setLastCheck] = useState<CheckResult | null>(null);
  const domain = useQuery({
    queryKey: ['org', orgId, 'domains', domainId],
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/domains/{domainId}', { params: { path: { orgId, domainId } } })),
  });
  const check = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/orgs/{orgId}/domains/{domainId}/verify', { params: { path: { orgId, domainId } } })),
    onSuccess: (r) => {
      setLastCheck(r);
      qc.setQueryData(['org', orgId, 'domains', domainId], r.domain);
      void qc.invalidateQueries({ queryKey: ['org', orgId, 'domains'], exact: true });
    },
  });
  const remove = useMutation({
    mutationFn: (acknowledge: boolean) =>
      data(
        api.DELETE('/api/v1/orgs/{orgId}/domains/{domainId}', {
          params: { path: { orgId, domainId }, query: acknowledge ? { acknowledgeWarnings: true } : {} },
        }),
      ),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'domains'] });
      notifyDone('Domain removed.');
      navigate(`/orgs/${orgId}/domains`);
    },
  });

  if (domain.isError) return <ApiErrorAlert error={domain.error} title="This domain could not be loaded" />;
  if (!domain.data) return <Loading label="Loading the domain" />;
  const d = domain.data;
  const diagnosis = lastCheck?.diagnosis ?? d.lastDiagnosis;
  return (
    <Stack maw={1000}>
      <Anchor component={Link} to={`/orgs/${orgId}/domains`} size="sm">
        ← All domains
      </Anchor>
      <Group>
        <Title order={1}>{d.unicodeDomain}</Title>
        <Badge variant="filled" color={STATUS_COLOR[d.status]} data-testid="domain-status">
          {STATUS_WORDS[d.status]}
        </Badge>
      </Group>
      <RecordToPublish d={d} />
      <Card withBorder>
        <Stack gap="sm">
          <Group justify="space-between">
            <Title order={2} size="h3">
              Check
            </Title>
            <Button onClick={() => check.mutate()} loading={check.isPending}>
              Check now
            </Button>
          </Group>
          <ApiErrorAlert error={check.error} title="The check could not run" />
          {lastCheck ? (
            <Text size="sm" fw={600} role="status" data-testid="check-summary">
              {lastCheck.verified ? '✓ ' : ''}
              {lastCheck.summary}
            </Text>
          ) : null}
          {diagnosis ? (
            <Diagnosis diagnosis={diagnosis} heading={lastCheck ? 'This check' : 'Last check'} />
          ) : (
            <Text size="sm">Not checked yet.</Text>
          )}
        </Stack>
      </Card>
      <StateTimeline d={d} orgId={orgId} />
      <DomainSettings d={d} orgId={orgId} />
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Remove
          </Title>
          <Text size="sm">
            Removing the domain stops capture at once: people at {d.unicodeDomain} are no longer routed here.
          </Text>
          <Group>
            <ConfirmButton
              title={`Remove ${d.unicodeDomain}?`}
              body={
                <Text size="sm">
                  Capture stops at once. To add it again later you publish a new verification value.
                </Text>
              }
              confirmLabel="Remove domain"
              onConfirm={() => remove.mutate(false)}
              loading={remove.isPending}
            >
              Remove domain…
            </ConfirmButton>
            {remove.isError && asApiError(remove.error).code === LOCKOUT ? (
              <ConfirmButton
                title="Remove although people lose access?"
                body={<Text size="sm">The people listed would lose sign-in access. This is audited.</Text>}
                confirmLabel="Remove anyway"
                onConfirm={() => remove.mutate(true)}
              >
                Remove anyway…
              </ConfirmButton>
            ) : null}
          </Group>
          <ApiErrorAlert error={remove.error} title="The domain was not removed" />
        </Stack>
      </Card>
    </Stack>
  );
}
