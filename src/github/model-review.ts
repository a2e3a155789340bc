import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { completeText } from '../gateway/complete.js';
import { loadUpstream } from '../gateway/upstream.js';
import type { DiffFile } from './diff.js';
import type { PrFinding } from './pr-analysis.js';
import { scanText } from './secret-scan.js';

/**
 * Optional model-assisted review (off by default, per repository): the diff goes to the
 * organization's OWN gateway upstream — the model provider its admins configured — never anywhere
 * else. Files a deny rule covers are left out by the caller, and added lines the secret scanner
 * matches are redacted before sending. The model's notes are low-confidence findings: shown in the
 * check summary and SARIF, never failing the check or posted as review comments.
 */
const MAX_PROMPT_BYTES = 60_000;
const MODEL = 'claude-sonnet-4-5';

export async function modelReview(
  ctx: Ctx,
  orgId: string,
  fullName: string,
  files: DiffFile[],
): Promise<{ findings: PrFinding[]; note: string }> {
  let target;
  try {
    target = await loadUpstream(ctx.db, ctx.config, orgId);
  } catch (err) {
    if (err instanceof PalisadeError) return { findings: [], note: `Model-assisted review is on, but ${err.message}` };
    throw err;
  }
  let diff = '';
  const added = new Map<string, Set<number>>();
  for (const f of files) {
    const hits = new Set((await scanText(f.newPath ?? '', f.patch)).map((h) => h.line - 1));
    const patch = f.patch
      .split('\n')
      .map((l, i) => (hits.has(i) && l.startsWith('+') ? '+[redacted credential]' : l))
      .join('\n');
    const chunk = `--- ${f.newPath}\n${patch}\n`;
    if (diff.length + chunk.length > MAX_PROMPT_BYTES) break;
    diff += chunk;
    added.set(f.newPath as string, f.added);
  }
  if (!diff) return { findings: [], note: 'Model-assisted review: nothing reviewable in this change.' };
  const prompt = [
    `You review a pull request of ${fullName} for security problems only (injection, authentication, cryptography misuse, secrets, unsafe deserialization, path traversal, SSRF).`,
    'Answer with a JSON array only, each item {"path": string, "line": number (new-file line of an added line), "message": string}. Answer [] when there is nothing.',
    'The diff:',
    diff,
  ].join('\n\n');
  let text: string;
  try {
    text = (
      await completeText(
        ctx.config,
        target,
        { model: MODEL, maxTokens: 1500, messages: [{ role: 'user', content: prompt }] },
        true,
      )
    ).text;
  } catch (err) {
    return {
      findings: [],
      note: `Model-assisted review failed: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`,
    };
  }
  const json = /\[[\s\S]*\]/.exec(text)?.[0];
  let items: unknown[] = [];
  try {
    items = json ? (JSON.parse(json) as unknown[]) : [];
  } catch {
    return {
      findings: [],
      note: 'Model-assisted review: the model answered in an unexpected form; nothing was added.',
    };
  }
  const findings: PrFinding[] = [];
  for (const it of items.slice(0, 50)) {
    const { path, line, message } = it as { path?: unknown; line?: unknown; message?: unknown };
    if (typeof path !== 'string' || typeof line !== 'number' || typeof message !== 'string') continue;
    // Only notes about lines this change adds: the model may not point anywhere else.
    if (!added.get(path)?.has(line)) continue;
    findings.push({
      kind: 'model',
      ruleId: 'model/review',
      path,
      line,
      column: 1,
      endLine: line,
      endColumn: 2,
      confidence: 'low',
      message: `Model review: ${message.slice(0, 500)}`,
      suggestion: null,
      fingerprint: `model:${path}:${line}`,
      suppressed: null,
      published: false,
    });
  }
  return {
    findings,
    note: `Model-assisted review (through this organization's gateway upstream): ${findings.length} note${findings.length === 1 ? '' : 's'}.`,
  };
}
