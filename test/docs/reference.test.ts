import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { program } from '../../src/cli.js';
import { GENERATED_PAGES } from './generate.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('generated reference pages', () => {
  for (const page of GENERATED_PAGES) {
    test(`${page.path} matches the code it is generated from (run npm run docs:gen when it does not)`, async () => {
      assert.equal(readFileSync(join(root, page.path), 'utf8'), await page.render());
    });
  }

  test('every CLI command, argument and option says what it is for, so the CLI reference and --help have no blank rows', () => {
    const blank: string[] = [];
    const walk = (cmd: Command, path: string): void => {
      if (!cmd.description()) blank.push(`${path}: command`);
      for (const a of cmd.registeredArguments) if (!a.description) blank.push(`${path} <${a.name()}>`);
      for (const o of cmd.options) if (!o.description) blank.push(`${path} ${o.flags}`);
      for (const c of cmd.commands) walk(c, `${path} ${c.name()}`);
    };
    walk(program, 'palisade');
    assert.deepEqual(blank, []);
  });
});
