import { Button, Group, List, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { ApiErrorAlert, asApiError, notifyDone } from '../app/errors';
import { ConfirmModal } from '../components/ConfirmModal';
import { useUpdateSettings, useWorkspaceSettings } from './queries';
import { cidrProblem, parseLines } from './validate';

/**
 * Which addresses may use the workspace and the gateway. Saving a list without the address the
 * admin is on is refused by the API (allowlist_excludes_you) unless confirmed: the dialog says why.
 */
export function AllowlistSection({ orgId }: { orgId: string }) {
  const settings = useWorkspaceSettings(orgId);
  const update = useUpdateSettings(orgId);
  const [text, setText] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [excludesMe, setExcludesMe] = useState<unknown>(null);
  const current = settings.data?.ipAllowlist;

  useEffect(() => setText((current ?? []).join('\n')), [current]);

  const save = (confirmExcludesMe: boolean) => {
    const entries = parseLines(text);
    const found = entries.map(cidrProblem).filter((p): p is string => p !== null);
    if (entries.length > 200) found.push('At most 200 entries.');
    setProblems(found);
    if (found.length) return;
    update.mutate(
      { ipAllowlist: entries.length ? entries : null, ...(confirmExcludesMe ? { confirmExcludesMe: true } : {}) },
      {
        onSuccess: () => {
          setExcludesMe(null);
          notifyDone(entries.length ? 'IP allowlist saved' : 'IP allowlist removed: any address may connect');
        },
        onError: (e) => (asApiError(e).code === 'allowlist_excludes_you' ? setExcludesMe(e) : undefined),
      },
    );
  };

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>IP allowlist</Title>
        <Text size="sm">
          Members use the workspace and the model gateway only from these networks; requests from elsewhere are refused
          and recorded (network.request_blocked). An empty list allows any address. Lockout guard: a list that does not
          include the address you are on now is saved only after you confirm it. These settings stay reachable to admins
          from any address, so a mistake can always be undone.
        </Text>
        <Text size="sm" data-testid="allowlist-current">
          {current?.length ? `In force: ${current.join(', ')}` : 'In force: any address (no allowlist).'}
        </Text>
        <Textarea
          label="Allowed networks"
          description="One IPv4 or IPv6 address or CIDR range a line, e.g. 203.0.113.0/24 or 2001:db8::/32"
          value={text}
          onChange={(e) => {
            setText(e.currentTarget.value);
            setProblems([]);
          }}
          error={
            problems.length ? `${problems.length} entr${problems.length === 1 ? 'y is' : 'ies are'} not valid` : null
          }
          autosize
          minRows={3}
          maw={520}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        />
        {problems.length ? (
          <List size="sm" c="red.9" data-testid="allowlist-problems">
            {problems.map((p) => (
              <List.Item key={p}>{p}</List.Item>
            ))}
          </List>
        ) : null}
        <Group>
          <Button onClick={() => save(false)} loading={update.isPending && !excludesMe}>
            Save allowlist
          </Button>
        </Group>
        {update.error && asApiError(update.error).code !== 'allowlist_excludes_you' ? (
          <ApiErrorAlert error={update.error} title="The allowlist was not saved" />
        ) : null}
      </Stack>
      <ConfirmModal
        opened={excludesMe !== null}
        title="This list locks you out of the workspace"
        confirmLabel="Save anyway"
        loading={update.isPending}
        onConfirm={() => save(true)}
        onClose={() => setExcludesMe(null)}
      >
        <ApiErrorAlert error={excludesMe} title="The API asks for confirmation" />
        <Text size="sm">
          Saving it anyway keeps you from the workspace and the gateway from this address; you can still come back here
          and change the list.
        </Text>
      </ConfirmModal>
    </Paper>
  );
}
