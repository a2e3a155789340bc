import { Badge, Code, Group, List, Stack, Text, Title } from '@mantine/core';
import type { Ok } from '../api/client';
import { CODE_WORDS, NEAR_MISS_WORDS, PLACE_WORDS, WARN_COLOR, when } from './words';

export type DiagnosisData = Ok<'verifyDomain'>['diagnosis'];
type Verdict = NonNullable<DiagnosisData['lastVerdict']>;

/** One check of the TXT record, in words: the code, what was found, the near misses and where else the value is. */
export function Diagnosis({
  diagnosis,
  heading = 'Last check',
}: {
  diagnosis: DiagnosisData | Verdict;
  heading?: string;
}) {
  const d = diagnosis;
  const last = 'lastVerdict' in d ? d.lastVerdict : null;
  return (
    <Stack gap="xs" data-testid="diagnosis" data-code={d.code}>
      <Group gap="xs">
        <Title order={3} size="h4">
          {heading}
        </Title>
        <Badge variant="filled" color={d.ok ? 'teal.9' : d.dnsSide ? WARN_COLOR : 'red.9'}>
          {d.code}
        </Badge>
        <Text size="xs" c="dimmed">
          {when(d.checkedAt)}
        </Text>
      </Group>
      <Text size="sm" fw={600}>
        {CODE_WORDS[d.code] ?? d.code}
      </Text>
      <Text size="sm" data-testid="diagnosis-message">
        {d.message}
      </Text>
      {d.found.length ? (
        <Stack gap={4}>
          <Text size="sm" fw={600}>
            Found at {d.recordName}
            {d.foundTotal && d.foundTotal > d.found.length ? ` (${d.found.length} of ${d.foundTotal} shown)` : ''}:
          </Text>
          <List size="sm" spacing={4}>
            {d.found.map((f, i) => (
              <List.Item key={i}>
                <Code>{f.strings.length > 1 ? f.strings.map((s) => JSON.stringify(s)).join(' ') : f.value}</Code>
                {f.nearMiss.length ? (
                  <List size="sm" withPadding data-testid="near-miss">
                    {f.nearMiss.map((n) => (
                      <List.Item key={n}>Close: {NEAR_MISS_WORDS[n] ?? n}</List.Item>
                    ))}
                  </List>
                ) : null}
              </List.Item>
            ))}
          </List>
        </Stack>
      ) : null}
      {d.cnameChain?.length ? (
        <Text size="sm">
          Alias chain: <Code>{[d.recordName, ...d.cnameChain].join(' → ')}</Code>
        </Text>
      ) : null}
      {d.elsewhere?.length ? (
        <Stack gap={4}>
          <Text size="sm" fw={600}>
            The expected value is published where it does not count:
          </Text>
          <List size="sm">
            {d.elsewhere.map((e) => (
              <List.Item key={e.name}>
                <Code>{e.name}</Code>, {PLACE_WORDS[e.kind] ?? e.kind}: move it to <Code>{d.recordName}</Code>.
                {e.nearMiss.map((n) => ` ${NEAR_MISS_WORDS[n] ?? n}`).join('')}
              </List.Item>
            ))}
          </List>
        </Stack>
      ) : null}
      {d.resolvers?.length ? (
        <Stack gap={4}>
          <Text size="sm" fw={600}>
            Resolvers asked{d.responsibility === 'palisade_resolver' ? " (Palisade's resolver is at fault)" : ''}:
          </Text>
          <List size="sm">
            {d.resolvers.map((r) => (
              <List.Item key={r.server}>
                <Code>{r.server}</Code>: {r.outcome}
                {r.detail ? ` (${r.detail})` : ''}
              </List.Item>
            ))}
          </List>
        </Stack>
      ) : null}
      {last ? <Diagnosis diagnosis={last} heading="The verdict that still stands" /> : null}
    </Stack>
  );
}
