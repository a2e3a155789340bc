import type { Command } from 'commander';
import { program } from '../../src/cli.js';
import { CONFIG_SPEC, loadConfig } from '../../src/config.js';
import { allJobs } from '../../src/jobs/registry.js';
import { INHERITED_ROLES, PERMISSIONS, PERMISSION_PURPOSE, type Permission } from '../../src/orgs/permissions.js';

/** Renders a default for the table: strings quoted when not empty, lists comma-joined. */
function show(v: unknown): string {
  if (Array.isArray(v)) return v.length ? `\`${v.join(',')}\`` : '(empty)';
  if (v === '') return '(empty)';
  return `\`${String(v)}\``;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

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
