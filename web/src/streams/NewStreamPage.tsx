import {
  Anchor,
  Button,
  Code,
  CopyButton,
  Group,
  NumberInput,
  Paper,
  PasswordInput,
  Radio,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { ApiErrorAlert } from '../app/errors';
import { useOrgId } from '../app/orgs';
import { KIND_LABEL } from './health';
import { useCreateStream } from './queries';
import type { CreateStreamInput, CreatedStream, StreamFormat, StreamKind } from './types';
import { type Field, NEEDS_TOKEN, SYSLOG, streamProblems } from './validate';

const KINDS: StreamKind[] = ['webhook', 'splunk_hec', 'datadog', 'syslog_tcp', 'syslog_tls'];
const URL_HINT: Record<string, string> = {
  webhook: 'https://siem.example.com/palisade (each request is signed with the secret shown once)',
  splunk_hec: 'The HEC base URL, e.g. https://splunk.example.com:8088',
  datadog: 'The logs intake, e.g. https://http-intake.logs.datadoghq.eu/api/v2/logs',
};

/** A new SIEM destination: the fields of its kind, checked before sending; a webhook's secret shown once. */
export default function NewStreamPage() {
  const orgId = useOrgId();
  const create = useCreateStream(orgId);
  const [kind, setKind] = useState<StreamKind>('webhook');
  const [v, setV] = useState<Record<string, string>>({ format: 'palisade', startFrom: 'now' });
  const [port, setPort] = useState<number | ''>('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [created, setCreated] = useState<CreatedStream | null>(null);
  const syslog = SYSLOG.includes(kind);
  const text = (k: string) => ({
    value: v[k] ?? '',
    onChange: (e: { currentTarget: { value: string } }) => {
      const value = e.currentTarget.value;
      setV((o) => ({ ...o, [k]: value }));
      setErrors((er) => (er[k as Field] ? { ...er, [k]: undefined } : er));
    },
    error: errors[k as Field],
  });

  const body = (): CreateStreamInput => {
    const opt = (k: string) => (v[k]?.trim() ? { [k]: v[k]!.trim() } : {});
    const format = (syslog || v.format !== 'cef' ? v.format : 'palisade') as StreamFormat;
    return {
      name: v.name ?? '',
      kind,
      format,
      startFrom: v.startFrom === 'beginning' ? 'beginning' : 'now',
      ...(syslog
        ? {
            ...opt('host'),
            ...(port === '' ? {} : { port }),
            ...(kind === 'syslog_tls' ? { ...opt('caPem'), ...opt('serverName') } : {}),
          }
        : {
            ...opt('url'),
            ...(NEEDS_TOKEN.includes(kind) && v.token ? { token: v.token } : {}),
            ...(kind === 'splunk_hec' ? { ...opt('index'), ...opt('sourcetype') } : {}),
            ...(kind === 'datadog' ? { ...opt('service'), ...opt('tags') } : {}),
          }),
    };
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const b = body();
    const found = streamProblems(b);
    setErrors(found);
    if (Object.keys(found).length) return;
    create.mutate({ ...b, name: b.name.trim() }, { onSuccess: setCreated });
  };

  if (created)
    return (
      <Stack maw={760}>
        <Title order={1}>Destination added</Title>
        <Text size="sm">
          {created.stream.name} receives every audit event from now on
          {v.startFrom === 'beginning' ? ', starting with everything still retained' : ''}.
        </Text>
        {created.webhookSecret ? (
          <Paper withBorder p="md" data-testid="webhook-secret">
            <Stack gap={6}>
              <Text size="sm" fw={700}>
                The signing secret, shown only once: give it to the receiver to check each request&apos;s signature.
              </Text>
              <Group>
                <Code data-testid="webhook-secret-value">{created.webhookSecret}</Code>
                <CopyButton value={created.webhookSecret}>
                  {({ copied, copy }) => (
                    <Button size="xs" variant="light" onClick={copy}>
                      {copied ? 'Copied' : 'Copy secret'}
                    </Button>
                  )}
                </CopyButton>
              </Group>
            </Stack>
          </Paper>
        ) : null}
        <Group>
          <Button component={Link} to={`/orgs/${orgId}/streams/${created.stream.id}`}>
            Open the destination
          </Button>
          <Anchor component={Link} to={`/orgs/${orgId}/streams`}>
            All destinations
          </Anchor>
        </Group>
      </Stack>
    );

  return (
    <Stack maw={760}>
      <Title order={1}>Add a SIEM destination</Title>
      <form onSubmit={submit} aria-label="New destination" noValidate>
        <Stack>
          <Radio.Group label="Kind" value={kind} onChange={(k) => setKind(k as StreamKind)}>
            <Group mt={6}>
              {KINDS.map((k) => (
                <Radio key={k} value={k} label={KIND_LABEL[k]} />
              ))}
            </Group>
          </Radio.Group>
          <TextInput label="Name" {...text('name')} />
          {syslog ? (
            <SimpleGrid cols={2}>
              <TextInput label="Host" description="Receiver name or address" {...text('host')} />
              <NumberInput
                label="Port"
                description="6514 for TLS, 514 or 601 for TCP"
                min={1}
                max={65535}
                allowDecimal={false}
                allowNegative={false}
                value={port}
                error={errors.port}
                onChange={(n) => {
                  setPort(typeof n === 'number' ? n : '');
                  setErrors((er) => ({ ...er, port: undefined }));
                }}
              />
            </SimpleGrid>
          ) : (
            <TextInput label="URL" description={URL_HINT[kind]} {...text('url')} />
          )}
          {kind === 'syslog_tls' ? (
            <>
              <Textarea
                label="CA certificate (PEM)"
                description="The CA that signs the receiver's certificate; empty: the system CAs"
                autosize
                minRows={3}
                styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                {...text('caPem')}
              />
              <TextInput
                label="Server name"
                description="Checked against the certificate; default: the host"
                {...text('serverName')}
              />
            </>
          ) : null}
          {NEEDS_TOKEN.includes(kind) ? (
            <PasswordInput
              label={kind === 'datadog' ? 'Datadog API key' : 'HEC token'}
              description="Write-only: stored encrypted, never shown again"
              autoComplete="off"
              {...text('token')}
            />
          ) : null}
          {kind === 'splunk_hec' ? (
            <SimpleGrid cols={2}>
              <TextInput label="Index" description="Optional" {...text('index')} />
              <TextInput label="Source type" description="Optional" {...text('sourcetype')} />
            </SimpleGrid>
          ) : null}
          {kind === 'datadog' ? (
            <SimpleGrid cols={2}>
              <TextInput label="Service" description="Optional" {...text('service')} />
              <TextInput label="Tags" description="Optional, e.g. env:prod,team:security" {...text('tags')} />
            </SimpleGrid>
          ) : null}
          <SimpleGrid cols={2}>
            <Select
              label="Format"
              data={[
                { value: 'palisade', label: 'Palisade JSON' },
                { value: 'ocsf', label: 'OCSF' },
                ...(syslog ? [{ value: 'cef', label: 'CEF' }] : []),
              ]}
              value={syslog || v.format !== 'cef' ? v.format : 'palisade'}
              onChange={(f) => setV((o) => ({ ...o, format: f ?? 'palisade' }))}
              allowDeselect={false}
            />
            <Select
              label="Start from"
              data={[
                { value: 'now', label: 'New events only' },
                { value: 'beginning', label: 'Everything still retained' },
              ]}
              value={v.startFrom}
              onChange={(f) => setV((o) => ({ ...o, startFrom: f ?? 'now' }))}
              allowDeselect={false}
            />
          </SimpleGrid>
          <ApiErrorAlert error={create.error} title="The destination was not added" />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Add destination
            </Button>
            <Anchor component={Link} to={`/orgs/${orgId}/streams`}>
              Cancel
            </Anchor>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}
