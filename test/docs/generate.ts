import { CONFIG_SPEC } from '../../src/config.js';
import { AUDIT_ACTIONS } from '../../src/audit/actions.js';
import { ERROR_CODES } from '../../src/error-catalog.js';

/** Renders a default for the table: strings quoted when not empty, lists comma-joined. */
function show(v: unknown): string {
  if (Array.isArray(v)) return v.length ? `\`${v.join(',')}\`` : '(empty)';
  if (v === '') return '(empty)';
  return `\`${String(v)}\``;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
/** A table cell of free text: also no raw angle brackets (VitePress would read them as Vue tags). */
const text = (s: string) => cell(s).replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** docs/reference/configuration.md, from CONFIG_SPEC (src/config.ts). */
export function configurationReference(): string {
  const rows = Object.values(CONFIG_SPEC).map((s) => `| \`${s.variable}\` | ${cell(show(s.default))} | ${cell(s.describe)} |`);
  return [
    '# Settings',
    '',
    '<!-- Generated from CONFIG_SPEC in src/config.ts by `npm run docs:gen`; do not edit by hand. -->',
    '',
    'Every setting is an environment variable, optionally seeded from a JSON file named by',
    '`PALISADE_CONFIG_FILE` (the environment wins). A bad value stops start-up with a message that',
    'names the variable and what it accepts. See [Configuration and the CLI](../configuration.md) for',
    'the settings grouped by task.',
    '',
    '| Variable | Default | Meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** docs/reference/audit-actions.md, from the domains' audit-actions.ts (gathered in src/audit/actions.ts). */
export function auditActionsReference(): string {
  const byDomain = new Map<string, typeof AUDIT_ACTIONS[number][]>();
  for (const e of AUDIT_ACTIONS) byDomain.set(e.domain, [...(byDomain.get(e.domain) ?? []), e]);
  const renamed = AUDIT_ACTIONS.filter((e) => e.formerly?.length);
  const sections = [...byDomain.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([domain, entries]) => [
    `## ${domain}`,
    '',
    `Declared in \`src/${domain}/audit-actions.ts\`.`,
    '',
    '| Action | OCSF class: activity | Security-relevant | What it records |',
    '|---|---|---|---|',
    ...entries.map((e) => `| \`${e.action}\` | ${e.ocsf} | ${e.security ? 'yes' : 'no'} | ${text(e.description)}${e.formerly?.length ? ` Formerly ${e.formerly.map((f) => `\`${f}\``).join(', ')}.` : ''}${e.synthetic ? ' Never stored in the audit log.' : ''} |`),
    '',
  ]);
  return [
    '# Audit actions',
    '',
    '<!-- Generated from the audit-actions.ts files under src/ by `npm run docs:gen`; do not edit by hand. -->',
    '',
    `Every action Palisade writes to the audit log (${AUDIT_ACTIONS.length} in all), with the OCSF class a SIEM`,
    'receives it as (see [Audit streams](../audit-streams.md)), whether it is security-relevant (a change',
    'to who signs in with which rights, to security settings, keys or the audit trail, or a refusal of',
    'one) and what the event records. A refusal reuses its action with outcome `denied` and a',
    '`metadata.reason`. The same list is served, authenticated, at `GET /api/v1/audit-actions`.',
    '',
    '## Renamed actions',
    '',
    'Audit events are hash-chained and never rewritten, so events written before a rename keep the',
    'old name. Search and export (`action=`), the Compliance API (`activity_types`) and the OCSF',
    'mapping treat a former name as the action it became, both ways: a filter for either name finds',
    'events stored under both. A SIEM rule keyed on a former name should add the new one.',
    '',
    '| Action | Former names |',
    '|---|---|',
    ...renamed.map((e) => `| \`${e.action}\` | ${(e.formerly ?? []).map((f) => `\`${f}\``).join(', ')} |`),
    '',
    ...sections,
  ].join('\n');
}

/** docs/reference/errors.md, from the domains' error-codes.ts (gathered in src/error-catalog.ts). */
export function errorsReference(): string {
  const rows = ERROR_CODES.map((e) => `| \`${e.code}\` | ${e.status} | ${text(e.message)} | ${e.domains.map((d) => `\`${d}\``).join(', ')} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from the error-codes.ts files under src/ by `npm run docs:gen`; do not edit by hand. -->',
    '',
    'Every error Palisade answers with has one shape, `{ "error": { "code", "message", "requestId", "details"? } }`,',
    'a stable `code` to switch on and one HTTP status per code. The message a response carries names the',
    'exact value or setting involved; the text below is what the code means and what to do, as a typical',
    'response says it (`…` stands for the specifics). Each code is declared once, with its status, in',
    "its domain's `src/<domain>/error-codes.ts`; a code the table does not list is a bug worth reporting.",
    'SCIM endpoints render the same errors in SCIM\'s own shape, and the model gateway in the',
    "provider's (Anthropic or OpenAI); see [Troubleshooting](../troubleshooting.md) for symptoms.",
    '',
    `| Code | Status | What it means and what to do | Declared in |`,
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
