import { Stack, Title } from '@mantine/core';
import { useOrgId } from '../app/orgs';
import { KeysSection } from './KeysSection';
import { UpstreamSection } from './UpstreamSection';
import { UsageSection } from './UsageSection';

export default function GatewayPage() {
  const orgId = useOrgId();
  return (
    <Stack maw={1100}>
      <Title order={1}>Model gateway</Title>
      <UpstreamSection orgId={orgId} />
      <KeysSection orgId={orgId} />
      <UsageSection orgId={orgId} />
    </Stack>
  );
}
