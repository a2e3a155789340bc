import { Anchor, Badge, Button, Checkbox, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { domainProblem } from './validate';
import { Loading } from './widgets';
import { STATUS_COLOR, STATUS_WORDS, when } from './words';

type Domain = Ok<'listDomains'>['data'][number];

/** Every domain of the organization (all pages). */
export function useDomains(orgId: string) {
  return useQuery({
    queryKey: ['org', orgId, 'domains'],
    queryFn: async () => {
      const all: Domain[] = [];
      let cursor: string | undefined;
      do {
        const page = await data(
          api.GET('/api/v1/orgs/{orgId}/domains', { params: { path: { orgId }, query: { limit: 200, cursor } } }),
        );
        all.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return all;
    },
  });
}

function AddDomainForm({ orgId }: { orgId: string }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [domain, setDomain] = useState('');
  const [includeSubdomains, setIncludeSubdomains] = useState(false);
  const [autoJoin, setAutoJoin] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/orgs/{orgId}/domains', {
          params: { path: { orgId } },
          body: { domain: domain.trim(), includeSubdomains, autoJoin },
        }),
      ),
    onSuccess: async (d) => {
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'domains'] });
      navigate(`/orgs/${orgId}/domains/${d.id}`);
    },
  });
  return (
    <form
      aria-label="Add a domain"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const p = domainProblem(domain);
        setProblem(p);
        if (!p) add.mutate();
      }}
    >
      <Stack gap="xs" maw={640}>
        <Group align="start">
          <TextInput
            label="Domain"
            description="The part after the @ in your people's email addresses"
            placeholder="example.com"
            value={domain}
            onChange={(e) => {
              setDomain(e.currentTarget.value);
              if (problem) setProblem(null);
            }}
            error={problem}
            required
            w={360}
          />
          <Button type="submit" mt={44} loading={add.isPending}>
            Add domain
          </Button>
        </Group>
        <Checkbox
          label="Include subdomains (people at eu.example.com are routed here too)"
          checked={includeSubdomains}
          onChange={(e) => setIncludeSubdomains(e.currentTarget.checked)}
        />
        <Checkbox
          label="Auto-join: people at this domain who sign in join as members"
          checked={autoJoin}
          onChange={(e) => setAutoJoin(e.currentTarget.checked)}
        />
        <ApiErrorAlert error={add.error} title="The domain was not added" />
      </Stack>
    </form>
  );
}

export default function DomainsPage() {
  const orgId = useOrgId();
  const domains = useDomains(orgId);
  return (
    <Stack maw={1100}>
      <Title order={1}>Domains</Title>
      <Text size="sm">
        A verified domain routes everyone with an email address at it to this organization. Prove you own it with a DNS
        TXT record; Palisade checks it again regularly.
      </Text>
      <AddDomainForm orgId={orgId} />
      {domains.isError ? <ApiErrorAlert error={domains.error} /> : null}
      {domains.isPending ? <Loading label="Loading domains" /> : null}
      {domains.data && domains.data.length === 0 ? <Text size="sm">No domains yet.</Text> : null}
      {domains.data && domains.data.length > 0 ? (
        <Table striped data-testid="domains">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Domain</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Subdomains</Table.Th>
              <Table.Th>Auto-join</Table.Th>
              <Table.Th>Last checked</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {domains.data.map((d) => (
              <Table.Tr key={d.id} data-domain={d.domain}>
                <Table.Td>
                  <Anchor component={Link} to={d.id}>
                    {d.unicodeDomain}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={STATUS_COLOR[d.status]}>
                    {STATUS_WORDS[d.status]}
                  </Badge>
                </Table.Td>
                <Table.Td>{d.includeSubdomains ? 'Included' : 'No'}</Table.Td>
                <Table.Td>{d.autoJoin ? 'On' : 'Off'}</Table.Td>
                <Table.Td>{when(d.lastCheckedAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Stack>
  );
}
