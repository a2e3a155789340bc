import { ProtocolPicker } from './ProtocolPicker';
import { Alert, Anchor, Button, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { Loading } from '../domains/widgets';
import { usePresets } from './presets';

/**
 * One click: a connection to Palisade's built-in test identity provider (offered only while the
 * installation turns it on: the presets say so). Palisade fills in every setting.
 */
export default function TestIdpPage() {
  const orgId = useOrgId();
  const presets = usePresets();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [protocol, setProtocol] = useState<'saml' | 'oidc'>('saml');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/sso/test-idp-connections', {
          params: { path: { orgId } },
          body: { protocol, ...(name.trim() ? { name: name.trim() } : {}) },
        }),
      ),
    onSuccess: async (c) => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'sso'] });
      navigate(`/orgs/${orgId}/sso/connections/${c.id}`);
    },
  });
  const back = (
    <Anchor component={Link} to={`/orgs/${orgId}/sso`} size="sm">
      ← Single sign-on
    </Anchor>
  );
  if (presets.isPending) return <Loading label="Loading" />;
  if (!presets.data?.testIdpEnabled)
    return (
      <Stack maw={900}>
        {back}
        <Title order={1}>Palisade test identity provider</Title>
        <Text>
          The built-in test identity provider is turned off on this installation. An operator can turn it on for a trial
          installation (PALISADE_TEST_IDP); otherwise connect a real identity provider.
        </Text>
      </Stack>
    );
  return (
    <Stack maw={900}>
      {back}
      <Title order={1}>Connect the Palisade test identity provider</Title>
      <Alert color="orange" variant="light" title="Palisade test identity provider — not for production">
        Its sign-in page accepts any address typed into it, so Palisade signs in through it only addresses at domains
        this organization verified, never an account another organization manages. Use it to try single sign-on, the
        admin test login and enforcement before your real identity provider is connected.
      </Alert>
      <form
        aria-label="New test connection"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          <ProtocolPicker labelId="test-protocol-label" value={protocol} onChange={setProtocol} />
          <TextInput
            label="Connection name"
            description="Optional; Palisade names it after the protocol otherwise"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            maxLength={100}
            w={360}
          />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create test connection
            </Button>
          </Group>
          <ApiErrorAlert error={create.error} title="The connection was not created" />
        </Stack>
      </form>
    </Stack>
  );
}
