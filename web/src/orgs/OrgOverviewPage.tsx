import { Anchor, Badge, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrg, useOrgId } from '../app/orgs';

export const roleLabel = (role: string | undefined) => (role ?? '').replace('_', ' ');

export default function OrgOverviewPage() {
  const orgId = useOrgId();
  const org = useOrg(orgId);
  const children = useQuery({
    queryKey: ['org', orgId, 'children'],
    queryFn: () =>
      data(api.GET('/api/v1/orgs/{orgId}/children', { params: { path: { orgId }, query: { limit: 200 } } })),
  });
  if (org.isPending) return <Loader aria-label="Loading" />;
  if (org.isError) return <ApiErrorAlert error={org.error} />;
  return (
    <Stack maw={900}>
      <Group>
        <Title order={1}>{org.data.name}</Title>
        {org.data.yourRole ? <Badge variant="light">you: {roleLabel(org.data.yourRole)}</Badge> : null}
      </Group>
      {org.data.parentId ? (
        <Text size="sm">
          Part of{' '}
          <Anchor component={Link} to={`/orgs/${org.data.parentId}/`}>
            its parent organization
          </Anchor>
          .
        </Text>
      ) : null}
      <Title order={2} size="h3">
        Child organizations
      </Title>
      {children.isError ? <ApiErrorAlert error={children.error} /> : null}
      {children.data && children.data.data.length === 0 ? (
        <Text size="sm">No child organizations (business units) yet.</Text>
      ) : null}
      {children.data && children.data.data.length > 0 ? (
        <Table data-testid="children" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {children.data.data.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/orgs/${c.id}/`}>
                    {c.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{new Date(c.createdAt).toLocaleDateString()}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Stack>
  );
}
