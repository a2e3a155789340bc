import { git } from './git.js';
import { githubError } from './errors.js';

/**
 * Unified diffs as git prints them (`git diff base...head`), parsed into files with the line
 * numbers each adds on the new side: the PR scan keeps findings on those lines only, and review
 * comments may only land on them.
 */
export interface DiffFile {
  oldPath: string | null;
  newPath: string | null;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  binary: boolean;
  /** The file's part of the diff, from its first @@ line. */
  patch: string;
  /** New-side line numbers of added lines. */
  added: Set<number>;
  /** New-side line numbers of every line shown (added and context): where GitHub accepts a review comment. */
  commentable: Set<number>;
}

/** Git quotes paths with unusual bytes as C strings: "a\tb". */
function unquote(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  const body = raw.slice(1, -1);
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = body[++i] ?? '';
    if (/[0-7]/.test(n)) {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else
      bytes.push(
        ({ n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 } as Record<string, number>)[n] ??
          n.charCodeAt(0),
      );
  }
  return Buffer.from(bytes).toString('utf8');
}

const stripSide = (p: string): string | null => {
  const path = unquote(p.trim());
  if (path === '/dev/null') return null;
  return path.replace(/^[ab]\//, '');
};

export function parseUnifiedDiff(text: string): DiffFile[] {
  const files: DiffFile[] = [];
  let cur: DiffFile | null = null;
  let patchLines: string[] = [];
  let newLine = 0;
  const flush = () => {
    if (cur) {
      cur.patch = patchLines.join('\n');
      files.push(cur);
    }
    patchLines = [];
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) {
      flush();
      const m = /^diff --git (\S+|"[^"]*") (\S+|"[^"]*")$/.exec(line);
      cur = {
        oldPath: m ? stripSide(m[1] as string) : null,
        newPath: m ? stripSide(m[2] as string) : null,
        status: 'modified',
        binary: false,
        patch: '',
        added: new Set(),
        commentable: new Set(),
      };
      continue;
    }
    if (!cur) continue;
    if (!patchLines.length) {
      if (line.startsWith('new file mode')) cur.status = 'added';
      else if (line.startsWith('deleted file mode')) cur.status = 'deleted';
      else if (line.startsWith('rename from ')) {
        cur.status = 'renamed';
        cur.oldPath = unquote(line.slice(12));
      } else if (line.startsWith('rename to ')) cur.newPath = unquote(line.slice(10));
      else if (line.startsWith('--- ')) cur.oldPath = stripSide(line.slice(4));
      else if (line.startsWith('+++ ')) cur.newPath = stripSide(line.slice(4));
      else if (line.startsWith('Binary files ') || line === 'GIT binary patch') cur.binary = true;
    }
    if (line.startsWith('@@')) {
      const m = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      newLine = m ? Number(m[1]) : 0;
      patchLines.push(line);
      continue;
    }
    if (!patchLines.length) continue;
    patchLines.push(line);
    if (line.startsWith('+')) {
      cur.added.add(newLine);
      cur.commentable.add(newLine);
      newLine++;
    } else if (line.startsWith(' ')) {
      cur.commentable.add(newLine);
      newLine++;
    }
  }
  flush();
  return files;
}

/** The diff of a pull request as GitHub shows it (changes on head since the merge base), up to maxBytes. */
export async function diffCommits(
  dir: string,
  base: string,
  head: string,
  maxBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  try {
    const run = await git(
      [
        '-C',
        dir,
        'diff',
        '--no-color',
        '--no-ext-diff',
        '--no-textconv',
        '--find-renames',
        '--unified=3',
        `${base}...${head}`,
      ],
      { maxBytes },
    );
    if (run.code !== 0)
      throw githubError('github_git_failed', `Computing the diff failed: ${run.stderr.trim().slice(0, 200)}`);
    return { text: run.stdout.toString('utf8'), truncated: false };
  } catch (err) {
    if ((err as { code?: string }).code === 'GIT_OUTPUT_LIMIT') return { text: '', truncated: true };
    throw err;
  }
}
