import { Anchor, Loader, Stack, Text, Title } from '@mantine/core';
import { Navigate } from 'react-router';
import { ApiErrorAlert } from './errors';
import { useMyOrgs } from './orgs';

/** The start page: straight into the first organization; without one, where invitations are. */
export function Home() {
  const orgs = useMyOrgs();
  if (orgs.isPending) return <Loader aria-label="Loading" />;
  if (orgs.isError) return <ApiErrorAlert error={orgs.error} />;
  const top = orgs.data.find((o) => !o.parentId || !orgs.data.some((p) => p.id === o.parentId)) ?? orgs.data[0];
  if (top) return <Navigate to={`/orgs/${top.id}/`} replace />;
  return (
    <Stack maw={640}>
      <Title order={1}>Welcome to Palisade</Title>
      <Text>
        You do not belong to an organization yet. If you were invited, accept the invitation on the{' '}
        <Anchor href="/invitations">invitations page</Anchor>.
      </Text>
    </Stack>
  );
}
