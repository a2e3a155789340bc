import { Stack, Title } from '@mantine/core';
import { useOrgId } from '../app/orgs';
import { AllowlistSection } from './AllowlistSection';
import { EncryptionSection } from './EncryptionSection';
import { HoldsSection } from './HoldsSection';
import { RetentionSection } from './RetentionSection';

export default function WorkspacePage() {
  const orgId = useOrgId();
  return (
    <Stack maw={1100}>
      <Title order={1}>Workspace</Title>
      <RetentionSection orgId={orgId} />
      <HoldsSection orgId={orgId} />
      <AllowlistSection orgId={orgId} />
      <EncryptionSection orgId={orgId} />
    </Stack>
  );
}
