import { Button, Checkbox, Group, Loader, NumberInput, Paper, Stack, Switch, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { ApiErrorAlert, notifyDone, notifyError } from '../app/errors';
import { asApiError } from '../app/errors';
import { ConfirmModal } from '../components/ConfirmModal';
import { useRetentionPreview, useUpdateSettings, useWorkspaceSettings } from './queries';
import type { RetentionPreview } from './types';

const MAX_DAYS = 36_500;

function PreviewText({ p }: { p: RetentionPreview }) {
  if (p.heldByLegalHold)
    return <Text size="sm">A legal hold covers the whole organization: nothing would be deleted while it stands.</Text>;
  const nothing = p.conversations + p.files === 0;
  return (
    <Text size="sm" data-testid="retention-preview">
      {nothing
        ? `Keeping ${p.retentionDays} days deletes nothing that exists now.`
        : `Keeping ${p.retentionDays} days deletes ${p.conversations} conversation(s) (${p.messages} message(s)) and ${p.files} file(s) at the next purge. Content under a legal hold is kept.`}
    </Text>
  );
}

/** How long conversations and files are kept, with what a shorter period would delete before it is saved. */
export function RetentionSection({ orgId }: { orgId: string }) {
  const settings = useWorkspaceSettings(orgId);
  const update = useUpdateSettings(orgId);
  const preview = useRetentionPreview(orgId);
  const [days, setDays] = useState<number | ''>('');
  const [inherit, setInherit] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<unknown>(null);
  const s = settings.data;

  useEffect(() => {
    if (!s) return;
    setInherit(s.retentionSource.kind === 'inherited');
    setDays(s.ownRetentionDays ?? s.retentionDays);
  }, [s]);

  // A shorter period is previewed as it is typed: the person sees what it deletes before saving.
  const { mutate: runPreview } = preview;
  const shorter =
    s && !inherit && typeof days === 'number' && Number.isInteger(days) && days >= 0 && days < s.retentionDays;
  useEffect(() => {
    if (!shorter || typeof days !== 'number') return;
    const t = setTimeout(() => runPreview(days), 300);
    return () => clearTimeout(t);
  }, [shorter, days, runPreview]);

  const check = (): string | null => {
    if (inherit) return null;
    if (days === '' || !Number.isInteger(days) || days < 0 || days > MAX_DAYS)
      return `A whole number of days from 0 (keep nothing) to ${MAX_DAYS}.`;
    return null;
  };
  const save = (confirm: boolean) => {
    const problem = check();
    setError(problem);
    if (problem) return;
    update.mutate(
      { retentionDays: inherit ? null : (days as number), ...(confirm ? { confirm: true } : {}) },
      {
        onSuccess: () => {
          setConfirming(null);
          notifyDone('Retention saved');
        },
        // Shortening that deletes content is confirmed in a dialog that shows the API's count.
        onError: (e) =>
          asApiError(e).code === 'retention_change_needs_confirmation' ? setConfirming(e) : notifyError(e),
      },
    );
  };

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Retention</Title>
        <ApiErrorAlert error={settings.error} />
        {settings.isPending ? <Loader role="status" aria-label="Loading retention" /> : null}
        {s ? (
          <>
            <Text size="sm" data-testid="retention-current">
              Conversations and files are kept {s.retentionDays} day{s.retentionDays === 1 ? '' : 's'} after their last
              message
              {s.retentionSource.kind === 'inherited'
                ? ' (inherited from the parent organization)'
                : s.retentionSource.kind === 'default'
                  ? ' (the installation default)'
                  : ''}
              , then deleted with their encryption keys.
              {s.legalHold ? ' A legal hold on the organization stops every deletion.' : ''}
            </Text>
            <Group align="end">
              <NumberInput
                label="Retention in days"
                description="0 keeps nothing"
                min={0}
                max={MAX_DAYS}
                allowDecimal={false}
                allowNegative={false}
                disabled={inherit}
                value={days}
                error={error}
                onChange={(v) => {
                  setDays(typeof v === 'number' ? v : v === '' ? '' : Number(v));
                  setError(null);
                }}
                w={220}
              />
              <Checkbox
                label="Inherit from the parent organization"
                checked={inherit}
                onChange={(e) => setInherit(e.currentTarget.checked)}
                mb={8}
              />
              <Button onClick={() => save(false)} loading={update.isPending && !confirming}>
                Save retention
              </Button>
            </Group>
            {shorter && preview.data && preview.data.retentionDays === days ? <PreviewText p={preview.data} /> : null}
            {shorter && preview.isPending ? (
              <Loader size="xs" role="status" aria-label="Counting what it deletes" />
            ) : null}
            <ApiErrorAlert error={preview.error} title="The preview failed" />
            <Switch
              label="Never use workspace content for model training"
              checked={s.noTraining}
              onChange={(e) =>
                update.mutate(
                  { noTraining: e.currentTarget.checked },
                  { onSuccess: () => notifyDone('Training policy saved'), onError: (err) => notifyError(err) },
                )
              }
            />
          </>
        ) : null}
      </Stack>
      <ConfirmModal
        opened={confirming !== null}
        title="Shorten retention and delete content?"
        confirmLabel="Shorten and delete"
        loading={update.isPending}
        error={
          update.error && asApiError(update.error).code !== 'retention_change_needs_confirmation' ? update.error : null
        }
        onConfirm={() => save(true)}
        onClose={() => setConfirming(null)}
      >
        <Text size="sm">{confirming ? asApiError(confirming).message : ''}</Text>
        <Text size="sm">Deleted content cannot be recovered: its encryption keys are destroyed with it.</Text>
      </ConfirmModal>
    </Paper>
  );
}
