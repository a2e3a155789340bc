import {
  Button,
  Group,
  Loader,
  Paper,
  PasswordInput,
  Select,
  Stack,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiErrorAlert, notifyDone } from '../app/errors';
import { useSetUpstream, useUpstream } from './queries';
import type { UpstreamInput } from './types';
import { modelPatternProblem, parseLines, urlProblem } from './validate';

type Field = 'name' | 'baseUrl' | 'apiKey' | 'allowedModels';

/** The model provider the gateway sends requests to; its credential is write-only (stored sealed). */
export function UpstreamSection({ orgId }: { orgId: string }) {
  const upstream = useUpstream(orgId);
  const set = useSetUpstream(orgId);
  const u = upstream.data?.upstream ?? null;
  const [name, setName] = useState('');
  const [kind, setKind] = useState<UpstreamInput['kind']>('anthropic');
  const [baseUrl, setBaseUrl] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [models, setModels] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});

  useEffect(() => {
    if (!u) return;
    setName(u.name);
    setKind(u.kind === 'openai' ? 'openai' : 'anthropic');
    setBaseUrl(u.baseUrl);
    setModels((u.allowedModels ?? []).join('\n'));
  }, [u]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const allowed = parseLines(models);
    const found: Partial<Record<Field, string>> = {};
    if (!name.trim()) found.name = 'Give the provider a name.';
    else if (name.trim().length > 100) found.name = 'At most 100 characters.';
    const bad = urlProblem(baseUrl);
    if (bad) found.baseUrl = bad;
    if (apiKey.length > 1000) found.apiKey = 'At most 1000 characters.';
    const badModel = allowed.map(modelPatternProblem).find((p) => p !== null);
    if (badModel) found.allowedModels = badModel;
    else if (allowed.length > 200) found.allowedModels = 'At most 200 models.';
    setErrors(found);
    if (Object.keys(found).length) return;
    set.mutate(
      {
        name: name.trim(),
        kind,
        baseUrl: baseUrl.trim(),
        ...(apiKey ? { apiKey } : {}),
        allowedModels: allowed.length ? allowed : null,
      },
      {
        onSuccess: () => {
          setApiKey('');
          notifyDone('Model provider saved');
        },
      },
    );
  };
  const field = (f: Field) => ({
    error: errors[f],
    onFocus: () => setErrors((e) => (e[f] ? { ...e, [f]: undefined } : e)),
  });

  return (
    <Paper withBorder p="md">
      <Stack>
        <Title order={2}>Model provider</Title>
        <ApiErrorAlert error={upstream.error} />
        {upstream.isPending ? <Loader role="status" aria-label="Loading the model provider" /> : null}
        <Text size="sm" data-testid="upstream-current">
          {u
            ? `Requests go to ${u.name} (${u.kind}) at ${u.baseUrl}; ${u.hasCredential ? 'a credential is stored' : 'no credential is stored'}; ${u.allowedModels ? `models allowed: ${u.allowedModels.join(', ')}` : 'every model the provider offers is allowed'}.`
            : upstream.data
              ? 'No model provider yet: members cannot use the gateway until one is set.'
              : ''}
        </Text>
        <form onSubmit={submit} aria-label="Model provider" noValidate>
          <Stack gap="sm" maw={560}>
            <Group grow align="start">
              <TextInput
                label="Name"
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                {...field('name')}
              />
              <Select
                label="Protocol"
                data={[
                  { value: 'anthropic', label: 'Anthropic Messages API' },
                  { value: 'openai', label: 'OpenAI chat completions (vLLM, Ollama…)' },
                ]}
                value={kind}
                onChange={(v) => setKind(v === 'openai' ? 'openai' : 'anthropic')}
                allowDeselect={false}
              />
            </Group>
            <TextInput
              label="Base URL"
              placeholder="https://api.anthropic.com"
              value={baseUrl}
              onChange={(e) => setBaseUrl(e.currentTarget.value)}
              {...field('baseUrl')}
            />
            <PasswordInput
              label="API key"
              description={
                u?.hasCredential ? 'Leave empty to keep the stored key' : 'Stored encrypted; never shown again'
              }
              value={apiKey}
              onChange={(e) => setApiKey(e.currentTarget.value)}
              autoComplete="off"
              {...field('apiKey')}
            />
            <Textarea
              label="Allowed models"
              description="One a line: an exact name or a prefix ending in * (claude-sonnet-*). Empty: every model."
              value={models}
              onChange={(e) => setModels(e.currentTarget.value)}
              autosize
              minRows={2}
              {...field('allowedModels')}
            />
            <Group>
              <Button type="submit" loading={set.isPending}>
                Save provider
              </Button>
            </Group>
            <ApiErrorAlert error={set.error} title="The provider was not saved" />
          </Stack>
        </form>
      </Stack>
    </Paper>
  );
}
