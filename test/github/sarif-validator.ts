import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Microsoft's SARIF validator (@microsoft/sarif-multitool, a self-contained .NET build shipped in the
 * npm package @microsoft/sarif-multitool-linux): validates a log against the SARIF 2.1.0 schema and
 * its rule set. It exits 0 whatever it finds, so the results are read from its own SARIF output.
 */
const require = createRequire(import.meta.url);
const BINARY = join(dirname(require.resolve('@microsoft/sarif-multitool-linux/package.json')), 'Sarif.Multitool');

export interface SarifValidation {
  errors: string[];
  warnings: string[];
}

export async function validateSarif(log: unknown): Promise<SarifValidation> {
  const dir = mkdtempSync(join(tmpdir(), 'sarif-'));
  try {
    const input = join(dir, 'palisade.sarif');
    const output = join(dir, 'validation.sarif');
    writeFileSync(input, JSON.stringify(log, null, 2));
    await new Promise<void>((resolve, reject) =>
      execFile(
        BINARY,
        ['validate', input, '-o', output, '--quiet', '--level', 'Error;Warning'],
        {
          env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' },
          timeout: 120_000,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    const result = JSON.parse(readFileSync(output, 'utf8')) as {
      runs: { results?: { level?: string; ruleId?: string; message?: { text?: string; arguments?: string[] } }[] }[];
    };
    const out: SarifValidation = { errors: [], warnings: [] };
    for (const r of result.runs[0]?.results ?? []) {
      const text = `${r.ruleId}: ${r.message?.text ?? (r.message?.arguments ?? []).join(' | ')}`;
      // SARIF's default level is "warning": a result without one is a warning.
      if (r.level === 'error') out.errors.push(text);
      else if (r.level === 'warning' || r.level === undefined) out.warnings.push(text);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
