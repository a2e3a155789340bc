import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Code,
  FileInput,
  Group,
  List,
  SegmentedControl,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert, asApiError, notifyDone } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { ConfirmButton, CopyValue, Loading } from '../domains/widgets';
import { WARN_COLOR, when } from '../domains/words';
import { urlProblem } from './NewConnectionPage';
import { TEST_IDP_PRESET } from './presets';
import { STATUS_COLOR } from './SsoPage';
import type { Connection, UpdateConnection } from './types';

const LOCKOUT = 'sso_change_would_lock_out';
const DAY = 86_400_000;

function useConnection(orgId: string, connectionId: string, poll: boolean) {
  return useQuery({
    queryKey: ['org', orgId, 'sso', connectionId],
    refetchInterval: poll ? 2000 : false,
    queryFn: () =>
      data(
        api.GET('/api/v1/orgs/{orgId}/sso/connections/{connectionId}', { params: { path: { orgId, connectionId } } }),
      ),
  });
}

/** Step 1 of a wizard, and always on the page: what the identity provider needs from Palisade. */
function ValuesForIdp({ c }: { c: Connection }) {
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          {c.status === 'draft' ? '1. ' : ''}Paste these into your identity provider
        </Title>
        {c.saml ? (
          <>
            <CopyValue label="ACS URL (reply URL)" value={c.saml.acsUrl} testId="acs-url" />
            <CopyValue label="Entity ID (audience)" value={c.saml.spEntityId} testId="entity-id" />
            <CopyValue label="Metadata URL" value={c.saml.spMetadataUrl} testId="sp-metadata-url" />
          </>
        ) : null}
        {c.oidc ? (
          <>
            <CopyValue label="Redirect URI" value={c.oidc.redirectUri} testId="redirect-uri" />
            {c.oidc.jwksUri ? <CopyValue label="JWKS URI (for private_key_jwt)" value={c.oidc.jwksUri} /> : null}
          </>
        ) : null}
        <Text size="sm">
          Attributes (claims) Palisade reads: email <Code>{c.claims.email}</Code>, first name{' '}
          <Code>{c.claims.firstName}</Code>, last name <Code>{c.claims.lastName}</Code>, groups{' '}
          <Code>{c.claims.groups}</Code>.
        </Text>
      </Stack>
    </Card>
  );
}

type Source = 'paste' | 'upload' | 'url';

/** The IdP's SAML metadata: pasted, uploaded as a file, or a URL Palisade downloads and refreshes. */
function IdpMetadata({ orgId, c }: { orgId: string; c: Connection }) {
  const qc = useQueryClient();
  const [source, setSource] = useState<Source>('paste');
  const [xml, setXml] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [url, setUrl] = useState(c.saml?.idpMetadataUrl ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const [last, setLast] = useState<UpdateConnection | null>(null);
  const save = useMutation({
    mutationFn: (body: UpdateConnection) =>
      data(
        api.PATCH('/api/v1/orgs/{orgId}/sso/connections/{connectionId}', {
          params: { path: { orgId, connectionId: c.id } },
          body,
        }),
      ),
    onMutate: (body) => setLast(body),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso'] });
      notifyDone('Identity-provider metadata saved.');
    },
  });
  const submit = async () => {
    let saml: NonNullable<UpdateConnection['saml']>;
    if (source === 'url') {
      const p = urlProblem(url, 'metadata URL');
      setProblem(p);
      if (p) return;
      saml = { metadataUrl: url.trim() };
    } else {
      const text = source === 'upload' ? ((await file?.text()) ?? '') : xml;
      const p = !text.trim()
        ? source === 'upload'
          ? 'Choose the metadata file your identity provider gave you.'
          : 'Paste the metadata XML.'
        : !/EntityDescriptor/.test(text)
          ? 'This is not SAML metadata: it has no EntityDescriptor element.'
          : text.length > 200_000
            ? 'The metadata is larger than 200,000 characters.'
            : null;
      setProblem(p);
      if (p) return;
      saml = { metadataXml: text };
    }
    save.mutate({ saml });
  };
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          {c.status === 'draft' ? "2. Your identity provider's metadata" : 'Identity-provider metadata'}
        </Title>
        <SegmentedControl
          aria-label="How to give the metadata"
          value={source}
          onChange={(v) => {
            setSource(v as Source);
            setProblem(null);
          }}
          data={[
            { value: 'paste', label: 'Paste XML' },
            { value: 'upload', label: 'Upload file' },
            { value: 'url', label: 'Metadata URL' },
          ]}
          w={420}
        />
        {source === 'paste' ? (
          <Textarea
            label="Metadata XML"
            autosize
            minRows={4}
            maxRows={12}
            value={xml}
            onChange={(e) => setXml(e.currentTarget.value)}
            error={problem}
          />
        ) : null}
        {source === 'upload' ? (
          <FileInput
            label="Metadata file"
            accept=".xml,application/xml,text/xml"
            value={file}
            onChange={setFile}
            error={problem}
            clearable
          />
        ) : null}
        {source === 'url' ? (
          <TextInput
            label="Metadata URL"
            description="Palisade downloads it now and every 6 hours (certificate rollover)"
            value={url}
            onChange={(e) => setUrl(e.currentTarget.value)}
            error={problem}
          />
        ) : null}
        <Group>
          <Button onClick={() => void submit()} loading={save.isPending}>
            Save metadata
          </Button>
          {save.isError && asApiError(save.error).code === LOCKOUT && last ? (
            <ConfirmButton
              title="Save although people lose access?"
              body={<Text size="sm">The people listed would lose sign-in access or a role. This is audited.</Text>}
              confirmLabel="Save anyway"
              onConfirm={() => save.mutate({ ...last, acknowledgeWarnings: true })}
            >
              Save anyway…
            </ConfirmButton>
          ) : null}
        </Group>
        <ApiErrorAlert error={save.error} title="The metadata was not saved" />
      </Stack>
    </Card>
  );
}

function Certificates({ c }: { c: Connection }) {
  const s = c.saml;
  if (!s) return null;
  const held = new Set(s.idpHeldCertificates.map((h) => h.fingerprintSha256));
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          Signing certificates
        </Title>
        {s.idpCertificates.length === 0 ? <Text size="sm">None yet: add the metadata.</Text> : null}
        {s.idpCertificates.length ? (
          <Table data-testid="certificates">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Subject</Table.Th>
                <Table.Th>SHA-256 fingerprint</Table.Th>
                <Table.Th>Expires</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {s.idpCertificates.map((cert) => {
                const days = Math.floor((new Date(cert.notAfter).getTime() - Date.now()) / DAY);
                return (
                  <Table.Tr key={cert.fingerprintSha256}>
                    <Table.Td>
                      {cert.subject}
                      {held.has(cert.fingerprintSha256) ? ' (kept for recent sign-ins)' : ''}
                    </Table.Td>
                    <Table.Td>
                      <Code style={{ wordBreak: 'break-all' }}>{cert.fingerprintSha256}</Code>
                    </Table.Td>
                    <Table.Td data-testid="cert-expiry">
                      {when(cert.notAfter)}{' '}
                      <Badge variant="filled" color={days < 0 ? 'red.9' : days < 30 ? WARN_COLOR : 'teal.9'}>
                        {days < 0 ? 'expired' : `in ${days} days`}
                      </Badge>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        ) : null}
        {s.idpMetadataUrl ? (
          <Text size="sm">
            Refreshed from <Code>{s.idpMetadataUrl}</Code> {when(s.idpMetadataRefreshedAt)}
            {s.idpMetadataError ? `; the last refresh failed: ${s.idpMetadataError}` : ''}
          </Text>
        ) : null}
      </Stack>
    </Card>
  );
}

/** A test login in a new tab; this page watches the connection and shows the result when it returns. */
function TestLogin({
  c,
  waiting,
  since,
  onStart,
}: {
  c: Connection;
  waiting: boolean;
  since: string | null;
  onStart: () => void;
}) {
  const done = since !== null && c.lastTestLoginAt !== null && c.lastTestLoginAt >= since;
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          Test login
        </Title>
        <Text size="sm">
          Opens the sign-in through this connection in a new tab, as an admin test: nobody else is affected. Finish
          signing in at the identity provider; this page shows the result.
        </Text>
        {c.status === 'active' ? (
          <Group>
            <Button component="a" href={`${c.loginUrl}?test=1`} target="_blank" rel="opener" onClick={onStart}>
              Test login
            </Button>
          </Group>
        ) : null}
        <Text size="sm" role="status" data-testid="test-login-result">
          {done
            ? `✓ Test login succeeded at ${when(c.lastTestLoginAt)}.`
            : waiting
              ? 'Waiting for the test login to finish in the other tab… If the identity provider shows an error, its page gives a reference to search the audit log for.'
              : c.lastTestLoginAt
                ? `Last successful test login: ${when(c.lastTestLoginAt)}.`
                : c.status === 'active'
                  ? 'No test login yet.'
                  : 'Add the identity provider’s metadata first.'}
        </Text>
      </Stack>
    </Card>
  );
}

/** A dry run of a sign-in with claims or a pasted SAMLResponse, with the API's explanation lines. */
function Simulate({ orgId, c }: { orgId: string; c: Connection }) {
  const [mode, setMode] = useState<'claims' | 'saml'>('claims');
  const [claims, setClaims] = useState(
    JSON.stringify({ [c.claims.email]: 'someone@example.com', [c.claims.groups]: ['engineering'] }, null, 2),
  );
  const [saml, setSaml] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const run = useMutation({
    mutationFn: async (body: { claims: Record<string, unknown> } | { samlResponse: string }) =>
      await data(
        api.POST('/api/v1/orgs/{orgId}/sso/connections/{connectionId}/simulate', {
          params: { path: { orgId, connectionId: c.id } },
          body,
        }),
      ),
  });
  const submit = () => {
    if (mode === 'claims') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(claims);
      } catch {
        setProblem('The claims are not valid JSON.');
        return;
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        setProblem('The claims must be a JSON object, such as {"email": "a@example.com"}.');
        return;
      }
      setProblem(null);
      run.mutate({ claims: parsed as Record<string, unknown> });
    } else {
      const v = saml.trim();
      const p = !v
        ? 'Paste the base64 SAMLResponse.'
        : !/^[A-Za-z0-9+/=\s]+$/.test(v)
          ? 'A SAMLResponse is base64 text.'
          : null;
      setProblem(p);
      if (!p) run.mutate({ samlResponse: v });
    }
  };
  const r = run.data;
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={2} size="h3">
          Simulate a sign-in
        </Title>
        {c.protocol === 'saml' ? (
          <SegmentedControl
            aria-label="What to simulate with"
            value={mode}
            onChange={(v) => {
              setMode(v as 'claims' | 'saml');
              setProblem(null);
            }}
            data={[
              { value: 'claims', label: 'Claims' },
              { value: 'saml', label: 'Pasted SAMLResponse' },
            ]}
            w={360}
          />
        ) : null}
        {mode === 'claims' ? (
          <Textarea
            label="Claims (JSON) as the identity provider would send them"
            autosize
            minRows={4}
            value={claims}
            onChange={(e) => setClaims(e.currentTarget.value)}
            error={problem}
            styles={{ input: { fontFamily: 'monospace' } }}
          />
        ) : (
          <Textarea
            label="SAMLResponse (base64, from the browser's network log)"
            autosize
            minRows={4}
            value={saml}
            onChange={(e) => setSaml(e.currentTarget.value)}
            error={problem}
          />
        )}
        <Group>
          <Button onClick={submit} loading={run.isPending}>
            Simulate
          </Button>
        </Group>
        <ApiErrorAlert error={run.error} title="The simulation could not run" />
        {r ? (
          <Stack gap={4} data-testid="simulation">
            <Group gap="xs">
              <Badge variant="filled" color={r.wouldSucceed ? 'teal.9' : 'red.9'}>
                {r.wouldSucceed ? 'Would sign in' : 'Would be refused'}
              </Badge>
              {r.role ? <Text size="sm">as {r.role.replace('_', ' ')}</Text> : null}
              {r.failure ? (
                <Text size="sm">
                  <Code>{r.failure.code}</Code>
                </Text>
              ) : null}
            </Group>
            <List size="sm" spacing={2} data-testid="explanation">
              {r.explanation.map((line, i) => (
                <List.Item key={i}>{line}</List.Item>
              ))}
            </List>
          </Stack>
        ) : null}
      </Stack>
    </Card>
  );
}

export default function ConnectionPage() {
  const orgId = useOrgId();
  const { connectionId = '' } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  // While a test login runs in the other tab, the connection is read every 2 s until its lastTestLoginAt moves.
  const [testStartedAt, setTestStartedAt] = useState<string | null>(null);
  const conn = useConnection(orgId, connectionId, testStartedAt !== null);
  const last = conn.data?.lastTestLoginAt ?? null;
  useEffect(() => {
    if (testStartedAt !== null && last !== null && last >= testStartedAt) setTestStartedAt(null);
  }, [testStartedAt, last]);
  const [watched, setWatched] = useState<string | null>(null);
  const remove = useMutation({
    mutationFn: () =>
      data(
        api.DELETE('/api/v1/orgs/{orgId}/sso/connections/{connectionId}', {
          params: { path: { orgId, connectionId }, query: {} },
        }),
      ),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso'] });
      notifyDone('Connection deleted.');
      navigate(`/orgs/${orgId}/sso`);
    },
  });
  if (conn.isError) return <ApiErrorAlert error={conn.error} title="This connection could not be loaded" />;
  if (!conn.data) return <Loading label="Loading the connection" />;
  const c = conn.data;
  return (
    <Stack maw={1000}>
      <Anchor component={Link} to={`/orgs/${orgId}/sso`} size="sm">
        ← Single sign-on
      </Anchor>
      <Group>
        <Title order={1}>{c.name}</Title>
        <Badge variant="filled" color={STATUS_COLOR[c.status] ?? 'gray.8'} data-testid="connection-status">
          {c.status}
        </Badge>
        <Text size="sm">{c.protocol.toUpperCase()}</Text>
      </Group>
      {c.preset === TEST_IDP_PRESET ? (
        <Alert color="orange" variant="light" title="Palisade test identity provider — not for production">
          Palisade filled in this connection's settings. Its sign-in page accepts any address typed into it; Palisade
          signs in through it only addresses at domains this organization verified, and stops signing anyone in through
          it if the operator turns the test identity provider off.
        </Alert>
      ) : (
        <ValuesForIdp c={c} />
      )}
      {c.saml && c.preset !== TEST_IDP_PRESET ? <IdpMetadata orgId={orgId} c={c} /> : null}
      {c.oidc ? (
        <Card withBorder>
          <Stack gap={4}>
            <Title order={2} size="h3">
              Provider
            </Title>
            <Text size="sm">
              Issuer <Code>{c.oidc.issuer}</Code>, client ID <Code>{c.oidc.clientId}</Code>, client secret{' '}
              {c.oidc.clientSecretSet ? 'stored' : 'not set'}, token endpoint authentication {c.oidc.tokenAuthMethod}.
            </Text>
          </Stack>
        </Card>
      ) : null}
      <Certificates c={c} />
      <TestLogin
        c={c}
        waiting={testStartedAt !== null}
        since={watched}
        onStart={() => {
          // A second of slack for the clocks of browser and server.
          const at = new Date(Date.now() - 1000).toISOString();
          setTestStartedAt(at);
          setWatched(at);
        }}
      />
      <Simulate orgId={orgId} c={c} />
      <Card withBorder>
        <Stack gap="sm">
          <Title order={2} size="h3">
            Delete
          </Title>
          <Group>
            <ConfirmButton
              title={`Delete “${c.name}”?`}
              body={
                <Text size="sm">
                  People who sign in only through it lose access; the API refuses while it is enforced.
                </Text>
              }
              confirmLabel="Delete connection"
              onConfirm={() => remove.mutate()}
              loading={remove.isPending}
            >
              Delete connection…
            </ConfirmButton>
          </Group>
          <ApiErrorAlert error={remove.error} title="The connection was not deleted" />
        </Stack>
      </Card>
    </Stack>
  );
}
