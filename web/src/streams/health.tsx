import { Badge } from '@mantine/core';
import type { StreamView } from './types';

// Dark shades: white text on them passes WCAG AA contrast.
const STATE_COLOR: Record<StreamView['health']['state'], string> = {
  healthy: 'teal.9',
  idle: 'gray.8',
  paused: 'gray.8',
  // Mantine's darkest orange (orange.9) is 4.3:1 under white text: a darker shade of it.
  retrying: '#a63c06',
  circuit_open: 'red.9',
  stalled: 'red.9',
  dead_letter: 'red.9',
};
export const STATE_LABEL: Record<StreamView['health']['state'], string> = {
  healthy: 'healthy',
  idle: 'idle (nothing delivered yet)',
  paused: 'paused',
  retrying: 'retrying',
  circuit_open: 'circuit open',
  stalled: 'stalled',
  dead_letter: 'dead letter',
};

export function StateBadge({ s }: { s: StreamView }) {
  return (
    <Badge variant="filled" color={STATE_COLOR[s.health.state]} data-state={s.health.state}>
      {STATE_LABEL[s.health.state]}
    </Badge>
  );
}

export const KIND_LABEL: Record<StreamView['kind'], string> = {
  syslog_tcp: 'Syslog over TCP',
  syslog_tls: 'Syslog over TLS',
  splunk_hec: 'Splunk HEC',
  datadog: 'Datadog',
  webhook: 'Webhook',
};

export function destinationOf(s: StreamView): string {
  return s.settings.url ?? `${s.settings.host ?? ''}:${s.settings.port ?? ''}`;
}

export const time = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') + 'Z' : 'never');
