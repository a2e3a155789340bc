import { createHmac } from 'node:crypto';
import type { Link } from './draft.js';
import type { Phase, Severity } from './tables.js';

/**
 * What each channel receives, built from one notification. The shapes follow the receivers'
 * documented formats (docs/notifications.md shows each):
 * - Slack incoming webhook: `{ text, blocks }` with header, section (mrkdwn), fields and a button
 *   per link — within Slack's limits (header ≤ 150 characters, section text ≤ 3000, ≤ 10 fields of
 *   ≤ 2000, button text ≤ 75, URL ≤ 3000).
 * - Microsoft Teams (Workflows or connector incoming webhook): a `message` with one Adaptive Card
 *   1.4 attachment (TextBlocks, a FactSet, Action.OpenUrl per link).
 * - Generic webhook: the notification as JSON, signed (see webhookSignature).
 */
export interface Message {
  id: string;
  orgId: string;
  type: string;
  phase: Phase;
  severity: Severity;
  title: string;
  facts: Record<string, unknown>;
  fix: string;
  links: Link[];
  createdAt: string;
  incidentId: string | null;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/**
 * Slack's mrkdwn reads `<…>` as links and mentions (`<!channel>` pings everyone): text that comes
 * from names people chose is escaped as Slack documents (&, <, >), so it is shown, never obeyed.
 */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const PHASE_LABEL: Record<Phase, string> = {
  alert: 'Problem',
  reminder: 'Reminder',
  warning: 'Warning',
  resolved: 'Resolved',
};

/** A fact's value as one line of text. */
export function factText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length ? v.join(', ') : '(none)';
  return JSON.stringify(v);
}

/** Facts worth showing (ids and empty values left to the JSON webhook). */
export function shownFacts(m: Message): [string, string][] {
  return Object.entries(m.facts)
    .filter(([k, v]) => v !== null && v !== undefined && k !== 'auditEventId' && k !== 'stage')
    .map(([k, v]) => [k, factText(v)]);
}

export function slackPayload(m: Message): Record<string, unknown> {
  const fields = shownFacts(m)
    .slice(0, 10)
    .map(([k, v]) => ({ type: 'mrkdwn', text: clip(`*${k}*\n${slackEscape(v)}`, 2000) }));
  const blocks: Record<string, unknown>[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${PHASE_LABEL[m.phase]}: ${m.title}`, 150), emoji: false },
    },
    { type: 'section', text: { type: 'mrkdwn', text: clip(`*What to do:* ${slackEscape(m.fix)}`, 3000) } },
  ];
  if (fields.length) blocks.push({ type: 'section', fields });
  if (m.links.length)
    blocks.push({
      type: 'actions',
      elements: m.links.slice(0, 5).map((l) => ({
        type: 'button',
        text: { type: 'plain_text', text: clip(l.label, 75) },
        url: clip(l.url, 3000),
      })),
    });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: clip(`${m.severity} · ${m.type} · ${m.createdAt} · ${m.id}`, 3000) }],
  });
  // `text` is the notification fallback (and what screen readers and the mobile push show).
  return { text: clip(`${PHASE_LABEL[m.phase]}: ${slackEscape(m.title)}`, 3000), blocks };
}

export function teamsPayload(m: Message): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    {
      type: 'TextBlock',
      text: `${PHASE_LABEL[m.phase]}: ${m.title}`,
      weight: 'Bolder',
      size: 'Medium',
      wrap: true,
      color:
        m.phase === 'resolved'
          ? 'Good'
          : m.severity === 'critical'
            ? 'Attention'
            : m.severity === 'warning'
              ? 'Warning'
              : 'Default',
    },
    { type: 'TextBlock', text: `What to do: ${m.fix}`, wrap: true },
  ];
  const facts = shownFacts(m).map(([title, value]) => ({ title, value }));
  if (facts.length) body.push({ type: 'FactSet', facts });
  body.push({
    type: 'TextBlock',
    text: `${m.severity} · ${m.type} · ${m.createdAt} · ${m.id}`,
    isSubtle: true,
    size: 'Small',
    wrap: true,
  });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: m.links.map((l) => ({ type: 'Action.OpenUrl', title: l.label, url: l.url })),
        },
      },
    ],
  };
}

export function webhookPayload(m: Message): Record<string, unknown> {
  return {
    id: m.id,
    type: m.type,
    phase: m.phase,
    severity: m.severity,
    organizationId: m.orgId,
    incidentId: m.incidentId,
    title: m.title,
    facts: m.facts,
    fix: m.fix,
    links: m.links,
    createdAt: m.createdAt,
  };
}

/**
 * `Palisade-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` — the same
 * scheme as SIEM webhooks. The receiver recomputes it over the raw body, compares in constant
 * time, refuses a `t` older than 5 minutes (replay) and drops a `Palisade-Delivery` id it has seen.
 */
export function webhookSignature(secret: string, body: string, now: Date): string {
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
