import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  List,
  Loader,
  NativeSelect,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { type Ok, api, data } from '../api/client';
import { ApiErrorAlert, asApiError, notifyDone } from '../app/errors';
import { ConfirmButton, Loading } from '../domains/widgets';
import { WARN_COLOR } from '../domains/words';
import type { Directory, MappableRole, RoleMapping, RoleMappingInput } from './types';
import { hasProblems, mappingProblems } from './validate';

const ROLE_OPTIONS = [
  { value: 'member', label: 'Member' },
  { value: 'admin', label: 'Admin' },
];
const OUTCOME_COLOR: Record<string, string> = { matched: 'teal.9', missing_prefix: WARN_COLOR, no_rule: 'gray.8' };

interface Draft {
  prefix: string;
  defaultRole: 'none' | MappableRole;
  rules: { group: string; role: MappableRole }[];
}

const draftOf = (m: RoleMapping): Draft => ({
  prefix: m.requiredPrefix ?? '',
  defaultRole: m.defaultRole ?? 'none',
  rules: m.rules.map((r) => ({ group: r.group, role: r.role })),
});
const inputOf = (d: Draft): RoleMappingInput => ({
  requiredPrefix: d.prefix === '' ? null : d.prefix,
  defaultRole: d.defaultRole === 'none' ? null : d.defaultRole,
  rules: d.rules,
});

/**
 * The organization's group-to-role mapping, edited against this directory's people: every change is
 * previewed at once ("N members would change"), then saved and applied in one confirmed step.
 */
export function RoleMappingEditor({ orgId, directory }: { orgId: string; directory: Directory }) {
  const qc = useQueryClient();
  const saved = useQuery({
    queryKey: ['org', orgId, 'role-mapping'],
    queryFn: async () => await data(api.GET('/api/v1/orgs/{orgId}/role-mapping', { params: { path: { orgId } } })),
  });
  const [draft, setDraft] = useState<Draft | null>(null);
  useEffect(() => {
    if (saved.data && draft === null) setDraft(draftOf(saved.data));
  }, [saved.data, draft]);

  const input = useMemo(() => (draft ? inputOf(draft) : null), [draft]);
  const problems = useMemo(() => (input ? mappingProblems(input) : null), [input]);
  const valid = !!problems && !hasProblems(problems);
  const [debounced] = useDebouncedValue(valid ? input : null, 300);
  const preview = useQuery({
    queryKey: ['org', orgId, 'scim', directory.id, 'role-preview', debounced],
    enabled: debounced !== null,
    placeholderData: (prev) => prev,
    queryFn: async () =>
      await data(
        api.POST('/api/v1/orgs/{orgId}/scim/directories/{directoryId}/role-preview', {
          params: { path: { orgId, directoryId: directory.id } },
          body: { mapping: debounced! },
        }),
      ),
  });

  const [applied, setApplied] = useState<Ok<'applyScimRoles'> | null>(null);
  const apply = useMutation({
    mutationFn: async (acknowledge: boolean) => {
      const body = { ...input!, ...(acknowledge ? { acknowledgeWarnings: true } : {}) };
      await data(api.PUT('/api/v1/orgs/{orgId}/role-mapping', { params: { path: { orgId } }, body }));
      if (!directory.roleSync) return null;
      return await data(
        api.POST('/api/v1/orgs/{orgId}/scim/directories/{directoryId}/apply-roles', {
          params: { path: { orgId, directoryId: directory.id } },
          body: {},
        }),
      );
    },
    onSuccess: async (r) => {
      setApplied(r);
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'role-mapping'] });
      await qc.invalidateQueries({ queryKey: ['org', orgId, 'scim', directory.id, 'role-preview'] });
      notifyDone(r ? `Mapping saved; ${r.changed.length} member role(s) changed.` : 'Mapping saved.');
    },
  });

  if (saved.isError) return <ApiErrorAlert error={saved.error} title="The role mapping could not be loaded" />;
  if (!draft || !problems) return <Loading label="Loading the role mapping" />;
  const set = (next: Partial<Draft>) => {
    setApplied(null);
    setDraft({ ...draft, ...next });
  };
  const setRule = (i: number, next: Partial<Draft['rules'][number]>) =>
    set({ rules: draft.rules.map((r, j) => (j === i ? { ...r, ...next } : r)) });
  const p = preview.data;
  const wouldChange = p?.summary.wouldChange ?? 0;
  const lockout = apply.isError && asApiError(apply.error).code === 'sso_change_would_lock_out';

  return (
    <Stack>
      <Card withBorder>
        <form aria-label="Role mapping" noValidate onSubmit={(e) => e.preventDefault()}>
          <Stack gap="sm">
            <Title order={2} size="h3">
              Group-to-role rules
            </Title>
            <Text size="sm">
              Shared by single sign-on and every SCIM directory of the organization. Owners are never named by a group.
            </Text>
            <Group align="start">
              <TextInput
                label="Required group prefix"
                description="Groups without it map to no role; empty for none"
                placeholder="acme-"
                value={draft.prefix}
                onChange={(e) => set({ prefix: e.currentTarget.value })}
                error={problems.prefix}
                w={280}
              />
              <NativeSelect
                label="Role when no rule matches"
                description="Default for people whose groups match no rule"
                data={[{ value: 'none', label: 'No role (keep current)' }, ...ROLE_OPTIONS]}
                value={draft.defaultRole}
                onChange={(e) => set({ defaultRole: e.currentTarget.value as Draft['defaultRole'] })}
                w={280}
              />
            </Group>
            {draft.rules.map((r, i) => (
              <Group key={i} align="start" data-testid="rule">
                <TextInput
                  label={`Group of rule ${i + 1}`}
                  value={r.group}
                  onChange={(e) => setRule(i, { group: e.currentTarget.value })}
                  error={problems.rules[i]}
                  w={320}
                />
                <NativeSelect
                  label={`Role of rule ${i + 1}`}
                  data={ROLE_OPTIONS}
                  value={r.role}
                  onChange={(e) => setRule(i, { role: e.currentTarget.value as MappableRole })}
                  w={160}
                />
                <Button
                  variant="default"
                  mt={25}
                  aria-label={`Remove rule ${i + 1}`}
                  onClick={() => set({ rules: draft.rules.filter((_, j) => j !== i) })}
                >
                  Remove
                </Button>
              </Group>
            ))}
            <Group>
              <Button
                variant="light"
                onClick={() => set({ rules: [...draft.rules, { group: draft.prefix, role: 'member' }] })}
                disabled={draft.rules.length >= 500}
              >
                Add rule
              </Button>
              <Button variant="subtle" onClick={() => saved.data && set(draftOf(saved.data))}>
                Reset to saved
              </Button>
            </Group>
          </Stack>
        </form>
      </Card>
      <Card withBorder>
        <Stack gap="sm" aria-live="polite">
          <Group>
            <Title order={2} size="h3">
              Preview for “{directory.name}”
            </Title>
            {preview.isFetching ? <Loader size="xs" role="status" aria-label="Updating the preview" /> : null}
          </Group>
          {!valid ? <Text size="sm">Fix the marked fields to see the preview.</Text> : null}
          <ApiErrorAlert error={preview.error} title="The preview failed" />
          {p ? (
            <>
              <Text size="lg" fw={700} data-testid="would-change">
                {wouldChange} member{wouldChange === 1 ? '' : 's'} would change
              </Text>
              <Text size="sm">{p.summary.message}</Text>
              {p.groups.length ? (
                <List size="sm" spacing={2} data-testid="group-evaluations">
                  {p.groups.map((g) => (
                    <List.Item key={g.group}>
                      <Badge size="sm" variant="filled" color={OUTCOME_COLOR[g.outcome]} mr={6}>
                        {g.outcome.replace('_', ' ')}
                      </Badge>
                      {g.explanation}
                    </List.Item>
                  ))}
                </List>
              ) : null}
              <Table striped data-testid="preview-users">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Person</Table.Th>
                    <Table.Th>Groups</Table.Th>
                    <Table.Th>Role now</Table.Th>
                    <Table.Th>Would get</Table.Th>
                    <Table.Th>Note</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {p.users.map((u) => (
                    <Table.Tr key={u.scimUserId} data-changes={u.changes ? 'yes' : 'no'}>
                      <Table.Td>{u.email ?? u.userName}</Table.Td>
                      <Table.Td>{u.groups.map((g) => g.group).join(', ') || '—'}</Table.Td>
                      <Table.Td>{u.currentRole?.replace('_', ' ') ?? '—'}</Table.Td>
                      <Table.Td fw={u.changes ? 700 : undefined}>
                        {u.wouldGet?.replace('_', ' ') ?? '—'}
                        {u.changes ? ' (changes)' : ''}
                      </Table.Td>
                      <Table.Td>{u.note ?? ''}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </>
          ) : null}
          {!directory.roleSync ? (
            <Alert color="blue" variant="light">
              Group-driven roles are off for this directory: saving changes the mapping only. Turn them on in the
              Connection tab to apply it here.
            </Alert>
          ) : null}
          <Group>
            <ConfirmButton
              color="indigo.8"
              variant="filled"
              title="Save the mapping and apply it?"
              body={
                <Text size="sm">
                  The mapping is saved for the whole organization (single sign-on uses it at the next sign-in).
                  {directory.roleSync
                    ? ` It is applied to "${directory.name}" now: ${wouldChange} member${wouldChange === 1 ? '' : 's'} change role.`
                    : ''}
                </Text>
              }
              confirmLabel={directory.roleSync ? 'Save and apply' : 'Save'}
              onConfirm={() => apply.mutate(false)}
              loading={apply.isPending}
              disabled={!valid}
            >
              {directory.roleSync ? 'Save and apply…' : 'Save mapping…'}
            </ConfirmButton>
            {lockout ? (
              <ConfirmButton
                title="Save although people lose access or a role?"
                body={<Text size="sm">The people listed would lose sign-in access or a role. This is audited.</Text>}
                confirmLabel="Save anyway"
                onConfirm={() => apply.mutate(true)}
              >
                Save anyway…
              </ConfirmButton>
            ) : null}
          </Group>
          <ApiErrorAlert error={apply.error} title="The mapping was not saved" />
          {applied ? (
            <Alert color="teal" variant="light" title="Applied" data-testid="applied">
              {applied.changed.length === 0 ? (
                <Text size="sm">No role changed.</Text>
              ) : (
                <List size="sm">
                  {applied.changed.map((c) => (
                    <List.Item key={c.userName}>
                      {c.userName}: {c.from ?? 'none'} → {c.to ?? 'none'}
                    </List.Item>
                  ))}
                </List>
              )}
              {applied.refused.map((r, i) => (
                <Text size="sm" key={i}>
                  {r.explanation}
                </Text>
              ))}
            </Alert>
          ) : null}
        </Stack>
      </Card>
    </Stack>
  );
}
