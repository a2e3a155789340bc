import { CONFIG_SPEC } from '../../src/config.js';

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
