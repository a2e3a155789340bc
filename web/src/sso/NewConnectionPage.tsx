import { ProtocolPicker } from './ProtocolPicker';
import { Anchor, Button, Card, Group, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { CopyValue } from '../domains/widgets';
import { WIZARDS, usePresets } from './presets';
import type { CreateConnection } from './types';

/** The API's URL rule for issuers and metadata URLs (src/sso/connections.ts checkUrl). */
export function urlProblem(value: string, what: string): string | null {
  if (!value.trim()) return `Enter the ${what}.`;
  try {
    const u = new URL(value.trim());
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `The ${what} must be an https:// URL.`;
  } catch {
    return `The ${what} is not a URL; use the full https:// address from your identity provider.`;
  }
  return null;
}

/**
 * A wizard per identity provider. SAML first makes a draft connection, whose page gives the values to
 * paste into the IdP before asking for its metadata; OIDC gives the redirect URI, then asks for the
 * issuer and the client the IdP registered.
 */
export default function NewConnectionPage() {
  const orgId = useOrgId();
  const { preset: key = '' } = useParams();
  const wizard = WIZARDS.find((w) => w.key === key);
  const presets = usePresets();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [protocol, setProtocol] = useState<'saml' | 'oidc'>(wizard?.protocols[0] ?? 'saml');
  const [name, setName] = useState(wizard?.label ?? '');
  const [issuer, setIssuer] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [problems, setProblems] = useState<Record<string, string | null>>({});
  const create = useMutation({
    mutationFn: (body: CreateConnection) =>
      data(api.POST('/api/v1/orgs/{orgId}/sso/connections', { params: { path: { orgId } }, body })),
    onSuccess: async (c) => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso'] });
      navigate(`/orgs/${orgId}/sso/connections/${c.id}`);
    },
  });
  if (!wizard)
    return (
      <Text>
        No such wizard.{' '}
        <Anchor component={Link} to={`/orgs/${orgId}/sso`}>
          Back to single sign-on
        </Anchor>
      </Text>
    );
  const preset = presets.data?.data.find((p) => p.id === wizard.preset);
  const submit = () => {
    const p: Record<string, string | null> = {
      name: !name.trim() ? 'Give the connection a name.' : name.trim().length > 100 ? 'At most 100 characters.' : null,
    };
    if (protocol === 'oidc') {
      p.issuer = urlProblem(issuer, 'issuer URL');
      p.clientId = clientId.trim() ? null : 'Enter the client ID the provider gave the application.';
      p.clientSecret = clientSecret ? null : 'Enter the client secret the provider gave the application.';
    }
    setProblems(p);
    if (Object.values(p).some((x) => x)) return;
    create.mutate(
      protocol === 'saml'
        ? { protocol, name: name.trim(), preset: wizard.preset }
        : {
            protocol,
            name: name.trim(),
            preset: wizard.preset,
            oidc: { issuer: issuer.trim(), clientId: clientId.trim(), clientSecret },
          },
    );
  };
  return (
    <Stack maw={900}>
      <Anchor component={Link} to={`/orgs/${orgId}/sso`} size="sm">
        ← Single sign-on
      </Anchor>
      <Title order={1}>Connect {wizard.label}</Title>
      {preset ? (
        <Text size="sm" data-testid="preset-help">
          {preset.configure}{' '}
          {preset.docsUrl ? (
            <Anchor href={preset.docsUrl} target="_blank" rel="noreferrer" size="sm">
              {wizard.label} documentation
            </Anchor>
          ) : null}
        </Text>
      ) : null}
      <form
        aria-label="New connection"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack>
          {wizard.protocols.length > 1 ? (
            <ProtocolPicker labelId="protocol-label" value={protocol} onChange={setProtocol} />
          ) : null}
          <TextInput
            label="Connection name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={problems.name}
            required
            w={360}
          />
          {protocol === 'saml' ? (
            <Text size="sm">
              Step 1 makes a draft connection and shows the values to paste into {wizard.label} (ACS URL, entity ID,
              metadata URL). Step 2 takes {wizard.label}'s metadata.
            </Text>
          ) : (
            <Card withBorder>
              <Stack gap="sm">
                <Title order={2} size="h4">
                  1. Register Palisade at {wizard.label}
                </Title>
                <CopyValue
                  label="Redirect URI"
                  value={`${window.location.origin}/sso/oidc/callback`}
                  testId="redirect-uri"
                />
                <Text size="xs" c="dimmed">
                  (Palisade's public URL followed by /sso/oidc/callback; the connection's page shows the exact value.)
                </Text>
                <Title order={2} size="h4">
                  2. The provider's answer
                </Title>
                <TextInput
                  label="Issuer URL"
                  placeholder="https://example.okta.com"
                  value={issuer}
                  onChange={(e) => setIssuer(e.currentTarget.value)}
                  error={problems.issuer}
                  required
                />
                <TextInput
                  label="Client ID"
                  value={clientId}
                  onChange={(e) => setClientId(e.currentTarget.value)}
                  error={problems.clientId}
                  required
                />
                <PasswordInput
                  label="Client secret"
                  description="Stored encrypted; never shown again"
                  value={clientSecret}
                  onChange={(e) => setClientSecret(e.currentTarget.value)}
                  error={problems.clientSecret}
                  required
                />
              </Stack>
            </Card>
          )}
          <Group>
            <Button type="submit" loading={create.isPending}>
              {protocol === 'saml' ? 'Create draft and show the values' : 'Create connection'}
            </Button>
          </Group>
          <ApiErrorAlert error={create.error} title="The connection was not created" />
        </Stack>
      </form>
    </Stack>
  );
}
