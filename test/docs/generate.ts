import { CONFIG_SPEC } from '../../src/config.js';
import { INHERITED_ROLES, PERMISSIONS, PERMISSION_PURPOSE, type Permission } from '../../src/orgs/permissions.js';

/** Renders a default for the table: strings quoted when not empty, lists comma-joined. */
function show(v: unknown): string {
  if (Array.isArray(v)) return v.length ? `\`${v.join(',')}\`` : '(empty)';
  if (v === '') return '(empty)';
  return `\`${String(v)}\``;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

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
];
