import {
  Autocomplete,
  Button,
  Group,
  Select,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { type FormEvent, useMemo, useState } from 'react';
import { type FilterKey, type Filters, OUTCOMES, validateFilters } from './filters';
import { useAuditActions } from './queries';
import type { AuditAction } from './types';

/** Action options grouped by the part of Palisade that writes them, each group led by its prefixes (member.*). */
function actionOptions(actions: AuditAction[]) {
  const seen = new Set<string>();
  const groups = new Map<string, string[]>();
  for (const a of actions) {
    if (a.synthetic) continue;
    const items = groups.get(a.domain) ?? [];
    const prefix = `${a.action.split('.')[0]}.*`;
    for (const v of [prefix, a.action])
      if (!seen.has(v)) {
        seen.add(v);
        items.push(v);
      }
    groups.set(a.domain, items);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, items]) => ({
      group,
      items: items.sort((x, y) => (x.endsWith('*') ? -1 : y.endsWith('*') ? 1 : x.localeCompare(y))),
    }));
}

/**
 * Every filter of GET /audit-events. The form edits a draft; "Search" checks it with the API's rules
 * and writes it to the URL, which is what the results read.
 */
export function FilterForm({ applied, onApply }: { applied: Filters; onApply: (f: Filters) => void }) {
  const [draft, setDraft] = useState<Filters>(applied);
  const [errors, setErrors] = useState<Partial<Record<FilterKey, string>>>({});
  const actions = useAuditActions();
  const options = useMemo(() => actionOptions(actions.data ?? []), [actions.data]);
  const set = (k: FilterKey) => (v: string | null) => {
    setDraft((d) => ({ ...d, [k]: v ?? '' }));
    // A corrected field loses its error at once; the whole form is checked again on "Search".
    setErrors((e) => (e[k] ? { ...e, [k]: undefined } : e));
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = validateFilters(draft);
    setErrors(found);
    if (Object.keys(found).length === 0) onApply(draft);
  };
  const clear = () => {
    setDraft({});
    setErrors({});
    onApply({});
  };

  return (
    <form onSubmit={submit} aria-label="Search the audit log" noValidate>
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="sm">
          <TextInput
            label="From"
            description="ISO 8601, inclusive"
            placeholder="2026-01-31T00:00:00Z"
            value={draft.from ?? ''}
            error={errors.from}
            onChange={(e) => set('from')(e.currentTarget.value)}
          />
          <TextInput
            label="To"
            description="ISO 8601, exclusive"
            placeholder="2026-02-01T00:00:00Z"
            value={draft.to ?? ''}
            error={errors.to}
            onChange={(e) => set('to')(e.currentTarget.value)}
          />
          <Autocomplete
            label="Action"
            description="Exact, or a prefix such as member.*"
            placeholder="member.*"
            data={options}
            limit={200}
            maxDropdownHeight={320}
            value={draft.action ?? ''}
            error={errors.action}
            onChange={set('action')}
          />
          <Select
            label="Outcome"
            description="Success, failure or denied"
            placeholder="Any outcome"
            data={OUTCOMES.map((o) => ({ value: o, label: o[0]!.toUpperCase() + o.slice(1) }))}
            clearable
            value={draft.outcome ?? null}
            error={errors.outcome}
            onChange={set('outcome')}
          />
          <TextInput
            label="Actor"
            description="User id (usr_…) or email"
            value={draft.actor ?? ''}
            error={errors.actor}
            onChange={(e) => set('actor')(e.currentTarget.value)}
          />
          <TextInput
            label="Target"
            description="Id of a target the event names"
            value={draft.target ?? ''}
            error={errors.target}
            onChange={(e) => set('target')(e.currentTarget.value)}
          />
          <TextInput
            label="IP address"
            description="The actor's address, exactly"
            value={draft.ip ?? ''}
            error={errors.ip}
            onChange={(e) => set('ip')(e.currentTarget.value)}
          />
          <Stack gap={4}>
            <Text size="sm" fw={500} id="audit-order-label">
              Order
            </Text>
            <SegmentedControl
              aria-labelledby="audit-order-label"
              value={draft.order === 'asc' ? 'asc' : 'desc'}
              onChange={(v) => set('order')(v === 'asc' ? 'asc' : '')}
              data={[
                { value: 'desc', label: 'Newest first' },
                { value: 'asc', label: 'Oldest first' },
              ]}
            />
          </Stack>
        </SimpleGrid>
        <Group>
          <Button type="submit">Search</Button>
          <Button variant="default" onClick={clear}>
            Clear filters
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
