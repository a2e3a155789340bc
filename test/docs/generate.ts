import type { Command } from 'commander';
import { program } from '../../src/cli.js';
import { CONFIG_SPEC, loadConfig } from '../../src/config.js';
import { allJobs } from '../../src/scheduled-jobs.js';
import { createTestApp } from '../helpers/harness.js';
import { INHERITED_ROLES, PERMISSIONS, PERMISSION_PURPOSE, type Permission } from '../../src/orgs/permissions.js';
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

/** Prose from the code: VitePress compiles Markdown as a Vue template, so `<name>` would open an element. */
const prose = (s: string) => s.replace(/</g, '&lt;').replace(/>/g, '&gt;');

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

/** docs/reference/permissions.md, from the permission matrix (src/orgs/permissions.ts). */
export function permissionsReference(): string {
  const roles = ['primary_owner', 'admin', 'member'] as const;
  const rows = (Object.keys(PERMISSIONS) as Permission[]).map((p) => {
    const allowed = PERMISSIONS[p] as readonly string[];
    return `| \`${p}\` | ${roles.map((r) => (allowed.includes(r) ? '✓' : '')).join(' | ')} | ${cell(PERMISSION_PURPOSE[p])} | \`missing_permission_${p.replace(/\./g, '_')}\` |`;
  });
  return [
    '# Permissions',
    '',
    '<!-- Generated from PERMISSIONS in src/orgs/permissions.ts by `npm run docs:gen`; do not edit by hand. -->',
    '',
    'Every route names one permission and goes through one check, `authorize()`. A role held in a parent',
    `organization carries into its children for ${INHERITED_ROLES.map((r) => `\`${r}\``).join(' and ')} only. A refusal is`,
    '`403` with the code in the last column and a message saying what the action requires. See',
    '[Concepts](../concepts.md) for organizations, roles and accounts.',
    '',
    `| Permission | ${roles.map((r) => `\`${r}\``).join(' | ')} | Requires | Refusal code |`,
    `|---|${roles.map(() => ':-:').join('|')}|---|---|`,
    ...rows,
    '',
  ].join('\n');
}

/** Every generated page of the docs site and how to render it: `npm run docs:gen` writes them, test/docs/reference.test.ts compares them. */
export const GENERATED_PAGES: readonly { path: string; render: () => string | Promise<string> }[] = [
  { path: 'docs/reference/configuration.md', render: configurationReference },
  { path: 'docs/reference/permissions.md', render: permissionsReference },
  { path: 'docs/reference/cli.md', render: cliReference },
  { path: 'docs/reference/api.md', render: apiReference },
  { path: 'docs/reference/audit-actions.md', render: auditActionsReference },
  { path: 'docs/reference/errors.md', render: errorsReference },
];

/** An interval in the largest unit that divides it: 6 h, 15 min, 5 s. */
function every(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** Leaf commands of a Commander tree, depth first in definition order, with their group's description. */
function leafCommands(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  const here = [...path, cmd.name()];
  if (!cmd.commands.length) return [{ path: here, cmd }];
  return cmd.commands.flatMap((c) => leafCommands(c, path.length || cmd.parent ? here : []));
}

/**
 * docs/reference/cli.md, from the command tree the CLI runs (`program` in src/cli.ts). Commander's own
 * Help formats usage lines and option descriptions (defaults included), so the page says what
 * `palisade <command> --help` says.
 */
export function cliReference(): string {
  const help = program.createHelp();
  const out: string[] = [
    '# Command line',
    '',
    '<!-- Generated from the command definitions in src/cli.ts by `npm run docs:gen`; do not edit by hand. -->',
    '',
    `${program.description()} Run it as \`node dist/src/cli.js <command>\` after \`npm run build\` (or`,
    '`npm run palisade -- <command>`; installed as a package, `palisade <command>`). Every command reads the',
    'same settings as the server, from the environment (`DATABASE_URL`, `PALISADE_MASTER_KEY`, …; see the',
    '[settings reference](configuration.md)): run it with the environment of the installation it acts on.',
    '`palisade <command> --help` prints the same as this page.',
    '',
    'Exit status: `0` when the command did what it says; `1` when it ran but found a problem it reports',
    '(a chain or export that does not verify, a failed job or test message, an installation check that',
    'fails); `2` when it refused or failed, with `error [code]: message` on standard error (the same',
    'codes as the API).',
    '',
    '| Command | What it does |',
    '|---|---|',
  ];
  const leaves = program.commands.flatMap((c) => leafCommands(c));
  const title = (path: string[], cmd: Command) => `palisade ${[...path.slice(0, -1), cmd.name()].join(' ')}`;
  const anchor = (path: string[]) => `palisade-${path.join('-')}`;
  for (const { path, cmd } of leaves) out.push(`| [\`${title(path, cmd)}\`](#${anchor(path)}) | ${cell(prose(cmd.description()))} |`);
  out.push('');
  for (const { path, cmd } of leaves) {
    out.push(`## ${title(path, cmd)} {#${anchor(path)}}`, '', prose(cmd.description()), '', '```', `${help.commandUsage(cmd)}`, '```', '');
    // Every declared argument, described or not (Commander's help hides undescribed ones).
    const args = cmd.registeredArguments;
    const opts = help.visibleOptions(cmd).filter((o) => o.long !== '--help');
    if (args.length || opts.length) {
      out.push('| Argument or option | Required | Meaning |', '|---|:-:|---|');
      for (const a of args) out.push(`| \`${a.required ? `<${a.name()}>` : `[${a.name()}]`}\` | ${a.required ? 'yes' : ''} | ${cell(prose(help.argumentDescription(a) || '—'))} |`);
      for (const o of opts) out.push(`| \`${help.optionTerm(o)}\` | ${o.mandatory ? 'yes' : ''} | ${cell(prose(help.optionDescription(o)))} |`);
      out.push('');
    }
    if (path.join(' ') === 'jobs run') {
      out.push('The jobs, and how often each is due with the default settings:', '', '| Job | Every |', '|---|---|');
      for (const j of allJobs(loadConfig({}))) out.push(`| \`${j.name}\` | ${every(j.intervalMs)} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  deprecated?: boolean;
}
interface OpenApiDocument {
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  security?: Record<string, string[]>[];
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string; in?: string; name?: string; description?: string }> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const SCHEME_LABEL: Record<string, string> = { session: 'session', bearer: 'PAT', complianceKey: 'Compliance key' };

/** The OpenAPI document exactly as the server serves it at /openapi.json: the app built as the tests build it. */
async function servedOpenApi(): Promise<OpenApiDocument> {
  const t = await createTestApp();
  try {
    await t.app.ready();
    return t.app.swagger() as unknown as OpenApiDocument;
  } finally {
    await t.close();
  }
}

/** docs/reference/api.md, from the app's OpenAPI document (every route's schema, tags, summary and operationId). */
export async function apiReference(): Promise<string> {
  const doc = await servedOpenApi();
  const auth = (security: Record<string, string[]>[] | undefined, inherited: boolean): string => {
    if (!security?.length) return 'none';
    const label = security.map((s) => Object.keys(s).map((k) => SCHEME_LABEL[k] ?? k).join(' + ')).join(' or ');
    return inherited ? `${label} (default)` : label;
  };
  const byTag = new Map<string, { method: string; path: string; op: OpenApiOperation }[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'Other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  const count = [...byTag.values()].reduce((n, ops) => n + ops.length, 0);
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  const out: string[] = [
    '# HTTP API',
    '',
    '<!-- Generated from the OpenAPI document the server builds (app.swagger(), served at /openapi.json) by `npm run docs:gen`; do not edit by hand. -->',
    '',
    `${doc.info.title} ${doc.info.version}: ${count} operations. Every running Palisade serves this document`,
    'at `/openapi.json` and renders it interactively at **`/docs`** (Swagger UI: request and response',
    'schemas, and "Try it out" against that server). This page lists the operations by area; the schemas',
    'are in the document. Errors share one shape, `{ "error": { "code", "message", "requestId" } }`',
    '([concepts](../concepts.md#errors)).',
    '',
    'Authentication (the **Auth** column; "default" marks operations that do not declare their own and',
    'inherit the document\'s default):',
    '',
    '| Scheme | How |',
    '|---|---|',
    ...schemes.map(([name, s]) => `| ${SCHEME_LABEL[name] ?? name} | ${s.type === 'http' ? `\`Authorization: ${s.scheme === 'bearer' ? 'Bearer …' : s.scheme}\`` : `${s.in} \`${s.name}\``}: ${cell(prose(s.description ?? ''))} |`),
    '',
    'Surfaces with a credential of their own: the model gateway (`/v1/messages`, `/v1/chat/completions`,',
    '`/v1/models`) takes a gateway key (`pls_gwk_…`, see [workspace and gateway](../workspace.md)); the SCIM',
    'protocol (`/scim/v2/`, not in this document: it follows RFC 7644) takes a directory token',
    '([SCIM](../scim.md)). Health checks, sign-in and the SSO protocol endpoints (`/sso/…`) serve people',
    'and identity providers that are not signed in yet.',
    '',
    '| Area | Operations |',
    '|---|---|',
    ...[...byTag].map(([tag, ops]) => `| [${tag}](#${slug(tag)}) | ${ops.length} |`),
    '',
  ];
  for (const [tag, ops] of byTag) {
    out.push(`## ${tag} {#${slug(tag)}}`, '', '| Method | Path | Summary | operationId | Auth |', '|---|---|---|---|---|');
    for (const { method, path, op } of ops) {
      out.push(`| ${method.toUpperCase()} | \`${path}\` | ${cell(prose(op.summary ?? ''))}${op.deprecated ? ' (deprecated)' : ''} | ${op.operationId ? `\`${op.operationId}\`` : '—'} | ${auth(op.security ?? doc.security, op.security === undefined)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

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
