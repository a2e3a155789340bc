import { Anchor, Badge, Button, Checkbox, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { Loading } from '../domains/widgets';
import { when } from '../domains/words';

export function useDirectories(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId, 'scim'],
    queryFn: () => data(api.GET('/api/v1/orgs/{orgId}/scim/directories', { params: { path: { orgId } } })),
  });
}

function CreateDirectoryForm({ orgId }: { orgId: string }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [roleSync, setRoleSync] = useState(true);
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/scim/directories', {
          params: { path: { orgId } },
          body: { name: name.trim(), roleSync },
        }),
      ),
    onSuccess: async (made) => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'scim'] });
      // The token travels in the page's history state, never in its URL: it is shown this once.
      navigate(`/orgs/${orgId}/scim/${made.directory.id}`, { state: { token: made.token } });
    },
  });
  return (
    <form
      aria-label="Create a SCIM directory"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        // The API's rule: 1 to 100 characters.
        const trimmed = name.trim();
        const p = !trimmed
          ? 'Give the directory a name, such as the identity provider it is for.'
          : trimmed.length > 100
            ? 'At most 100 characters.'
            : null;
        setProblem(p);
        if (!p) create.mutate();
      }}
    >
      <Stack gap="xs" maw={640}>
        <Group align="start">
          <TextInput
            label="Directory name"
            description="Usually the identity provider that will provision people (Okta, Entra ID)"
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              if (problem) setProblem(null);
            }}
            error={problem}
            required
            w={360}
          />
          <Button type="submit" mt={44} loading={create.isPending}>
            Create directory
          </Button>
        </Group>
        <Checkbox
          label="Group-driven roles: the role mapping sets members' roles from their groups"
          checked={roleSync}
          onChange={(e) => setRoleSync(e.currentTarget.checked)}
        />
        <ApiErrorAlert error={create.error} title="The directory was not created" />
      </Stack>
    </form>
  );
}

export default function ScimPage() {
  const orgId = useOrgId();
  const dirs = useDirectories(orgId);
  return (
    <Stack maw={1100}>
      <Title order={1}>SCIM provisioning</Title>
      <Text size="sm">
        A SCIM directory lets your identity provider create, update and deactivate members, and set their roles from
        their groups. Each directory has its own URL and bearer token.
      </Text>
      <CreateDirectoryForm orgId={orgId} />
      {dirs.isError ? <ApiErrorAlert error={dirs.error} /> : null}
      {dirs.isPending ? <Loading label="Loading directories" /> : null}
      {dirs.data && dirs.data.data.length === 0 ? <Text size="sm">No directories yet.</Text> : null}
      {dirs.data && dirs.data.data.length > 0 ? (
        <Table striped data-testid="directories">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Directory</Table.Th>
              <Table.Th>Roles from groups</Table.Th>
              <Table.Th>Tokens</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {dirs.data.data.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>
                  <Anchor component={Link} to={d.id}>
                    {d.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={d.roleSync ? 'teal.9' : 'gray.8'}>
                    {d.roleSync ? 'On' : 'Off'}
                  </Badge>
                </Table.Td>
                <Table.Td>{d.tokens.map((t) => t.prefix).join(', ')}</Table.Td>
                <Table.Td>{when(d.createdAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Stack>
  );
}
