import { Anchor, Badge, Button, Group, Loader, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { useMyOrgs, useOrg, useOrgId } from '../app/orgs';

export const roleLabel = (role: string | undefined) => (role ?? '').replace('_', ' ');

/** A business unit under this organization (POST …/children; the API's limits: a name of 1 to 200 characters). */
function CreateChild({ orgId }: { orgId: string }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const create = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/orgs/{orgId}/children', { params: { path: { orgId } }, body: { name: name.trim() } })),
    onSuccess: (child) => {
      setName('');
      setTouched(false);
      void qc.invalidateQueries({ queryKey: ['org', orgId, 'children'] });
      void qc.invalidateQueries({ queryKey: ['orgs'] });
      notifyDone(`${child.name} was created under this organization.`);
    },
  });
  const problem = !name.trim()
    ? 'Give the organization a name.'
    : name.trim().length > 200
      ? 'A name has at most 200 characters.'
      : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (!problem) create.mutate();
  };
  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="xs" maw={480}>
        <Group align="start">
          <TextInput
            label="New child organization"
            placeholder="Europe"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={touched ? problem : null}
            style={{ flex: 1 }}
          />
          <Button type="submit" mt={25} loading={create.isPending}>
            Create
          </Button>
        </Group>
        <ApiErrorAlert error={create.error} title="Not created" />
      </Stack>
    </form>
  );
}

export default function OrgOverviewPage() {
  const orgId = useOrgId();
  const org = useOrg(orgId);
  const mine = useMyOrgs();
  const children = useQuery({
    queryKey: ['org', orgId, 'children'],
    queryFn: () =>
      data(api.GET('/api/v1/orgs/{orgId}/children', { params: { path: { orgId }, query: { limit: 200 } } })),
  });
  if (org.isPending) return <Loader role="status" aria-label="Loading" />;
  if (org.isError) return <ApiErrorAlert error={org.error} />;
  return (
    <Stack maw={900}>
      <Group>
        <Title order={1}>{org.data.name}</Title>
        {org.data.yourRole ? <Badge variant="outline">you: {roleLabel(org.data.yourRole)}</Badge> : null}
      </Group>
      {org.data.parentId ? (
        <Text size="sm">
          Part of{' '}
          <Anchor component={Link} to={`/orgs/${org.data.parentId}/`}>
            {mine.data?.find((o) => o.id === org.data.parentId)?.name ?? 'its parent organization'}
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
      {org.data.yourRole === 'primary_owner' || org.data.yourRole === 'admin' ? <CreateChild orgId={orgId} /> : null}
    </Stack>
  );
}
