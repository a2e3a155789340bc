import type { SgNode } from '@ast-grep/napi';
import { type Call, type FileContext, type RawFinding, functionOf, literal } from './engine.js';
import type { RuleDefinition } from './rule.js';

const JS = new Set(['javascript', 'typescript', 'tsx']);
const ALL = ['javascript', 'typescript', 'tsx', 'python', 'go', 'java'] as const;

/** Assignment-like nodes per grammar (ast-grep refuses a kind a grammar does not have). */
const ASSIGNMENT_KINDS: Record<FileContext['lang'], string[]> = {
  javascript: ['variable_declarator', 'assignment_expression'],
  typescript: ['variable_declarator', 'assignment_expression'],
  tsx: ['variable_declarator', 'assignment_expression'],
  python: ['assignment'],
  go: ['short_var_declaration', 'assignment_statement', 'var_spec'],
  java: ['variable_declarator', 'assignment_expression'],
};

/** A string built from values at run time: interpolation, formatting or concatenation with something that is not a literal. */
function dynamicString(ctx: FileContext, node: SgNode | undefined, depth = 0): boolean {
  if (!node) return false;
  const kind = String(node.kind());
  const t = node.text().trim();
  if (JS.has(ctx.lang)) {
    if (kind === 'template_string') return t.includes('${');
    if (kind === 'binary_expression' && t.includes('+'))
      return node
        .children()
        .some(
          (c) =>
            c.isNamed() &&
            literal(c) === null &&
            !/^\d+$/.test(c.text()) &&
            (c.kind() !== 'binary_expression' || dynamicString(ctx, c, depth)),
        );
    if (kind === 'parenthesized_expression')
      return dynamicString(
        ctx,
        node.children().find((c) => c.isNamed()),
        depth,
      );
  } else if (ctx.lang === 'python') {
    if (kind === 'string') return /^[rRbB]?[fF]/.test(t) && /\{[^}]+\}/.test(t);
    if (kind === 'binary_operator') {
      const op = node.field('operator')?.text();
      const left = node.field('left');
      if (op === '%' && left?.kind() === 'string') return true;
      if (op === '+')
        return [left, node.field('right')].some(
          (c) => c && literal(c) === null && (c.kind() !== 'binary_operator' || dynamicString(ctx, c, depth)),
        );
    }
    if (kind === 'call' && /^["'].*["']\.format$/s.test(node.field('function')?.text() ?? '')) return true;
  } else if (ctx.lang === 'go') {
    if (kind === 'call_expression' && /^fmt\.Sprintf$/.test(node.field('function')?.text() ?? ''))
      return (
        (node
          .field('arguments')
          ?.children()
          .filter((c) => c.isNamed()).length ?? 0) > 1
      );
    if (kind === 'binary_expression' && t.includes('+'))
      return node
        .children()
        .some(
          (c) =>
            c.isNamed() && literal(c) === null && (c.kind() !== 'binary_expression' || dynamicString(ctx, c, depth)),
        );
  } else if (ctx.lang === 'java') {
    if (kind === 'binary_expression' && t.includes('+'))
      return node
        .children()
        .some(
          (c) =>
            c.isNamed() &&
            literal(c) === null &&
            !/^\d+$/.test(c.text()) &&
            (c.kind() !== 'binary_expression' || dynamicString(ctx, c, depth)),
        );
    if (
      kind === 'method_invocation' &&
      /^String\.format$/.test(`${node.field('object')?.text()}.${node.field('name')?.text()}`)
    )
      return (
        (node
          .field('arguments')
          ?.children()
          .filter((c) => c.isNamed()).length ?? 0) > 1
      );
  }
  // A variable: judged by what it was assigned in the same function (one level).
  if (depth === 0 && /^(identifier)$/.test(kind)) {
    const fn = functionOf(node);
    if (!fn) return false;
    const name = t;
    for (const d of fn.findAll({ rule: { any: ASSIGNMENT_KINDS[ctx.lang].map((kind) => ({ kind })) } })) {
      const left = (d.field('name') ?? d.field('left'))?.text().trim();
      if (left !== name) continue;
      const right = d.field('value') ?? d.field('right');
      const rhs = right?.kind() === 'expression_list' ? right.children().find((c) => c.isNamed()) : right;
      if (rhs && d.range().start.line <= node.range().start.line && dynamicString(ctx, rhs, 1)) return true;
    }
  }
  return false;
}

const SQLISH =
  /\b(select\s[\s\S]*\bfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s|order\s+by|drop\s+table|create\s+table)\b/i;

function sqlSink(ctx: FileContext, c: Call): SgNode | undefined {
  if (JS.has(ctx.lang))
    return /\.(query|execute|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe|queryRaw)$/.test(c.callee) &&
      !/^(document|window|\$|jQuery|router|url|searchParams|req|request|ctx)\./.test(c.callee)
      ? c.args[0]
      : undefined;
  if (ctx.lang === 'python')
    return /\.(execute|executemany|executescript|raw|mogrify)$/.test(c.callee) || /(^|\.)(text)$/.test(c.callee)
      ? c.args[0]
      : undefined;
  if (ctx.lang === 'go') {
    if (
      !/\.(Query|QueryRow|Exec|QueryContext|QueryRowContext|ExecContext|Prepare|PrepareContext|Raw|Select|Get)$/.test(
        c.callee,
      )
    )
      return undefined;
    return /Context$/.test(c.callee) ? c.args[1] : c.args[0];
  }
  if (ctx.lang === 'java')
    return /(^|\.)(executeQuery|executeUpdate|execute|addBatch|prepareStatement|prepareCall|createQuery|createNativeQuery|createSQLQuery|queryForObject|queryForList|query|update|batchUpdate)$/.test(
      c.callee,
    )
      ? c.args[0]
      : undefined;
  return undefined;
}

export const sqlInjection: RuleDefinition = {
  id: 'injection/sql',
  name: 'SQL built from strings',
  severity: 'error',
  cwe: 'CWE-89',
  short:
    'A SQL statement is built by interpolation or concatenation and sent to the database: input can change the query.',
  help: 'Pass values as parameters (placeholders such as ?, $1 or %s with a separate argument list), or use the query builder; never format them into the SQL text.',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const q = sqlSink(ctx, c);
      if (!q || !dynamicString(ctx, q)) continue;
      const direct = q.kind() !== 'identifier';
      const looksSql = SQLISH.test(q.text()) || SQLISH.test(functionOf(q)?.text() ?? '');
      if (
        !looksSql &&
        !/\b(cursor|cur|conn|connection|db|pool|client|knex|sequelize|prisma|stmt|statement|jdbc\w*|session|em|entityManager|tx)\b/i.test(
          c.callee,
        )
      )
        continue;
      out.push({
        node: c.node,
        confidence: direct && looksSql ? 'high' : 'medium',
        message: `${c.callee}() runs SQL built from run-time values.`,
      });
    }
    return out;
  },
};

function commandSink(ctx: FileContext, c: Call): SgNode | undefined {
  if (JS.has(ctx.lang)) {
    if (!/child_process|execa|shelljs/.test(ctx.text)) return undefined;
    if (/^((child_process|childProcess|cp|proc)\.)?(exec|execSync)$/.test(c.callee) || /^shell\.exec$/.test(c.callee))
      return c.args[0];
    if (
      /^((child_process|childProcess|cp)\.)?(spawn|spawnSync|execFile|execFileSync)$/.test(c.callee) &&
      c.args.some((a) => /shell\s*:\s*true/.test(a.text()))
    )
      return c.args[0];
    return undefined;
  }
  if (ctx.lang === 'python') {
    if (/^os\.(system|popen|popen2|popen3)$/.test(c.callee) || /^commands\.getoutput$/.test(c.callee)) return c.args[0];
    if (/^subprocess\.\w+$/.test(c.callee) && c.kwargs.get('shell')?.text() === 'True') return c.args[0];
    return undefined;
  }
  if (ctx.lang === 'go') {
    if (/^exec\.Command(Context)?$/.test(c.callee)) {
      const args = c.callee.endsWith('Context') ? c.args.slice(1) : c.args;
      if (
        /^"(\/bin\/|\/usr\/bin\/)?(sh|bash|zsh|cmd|cmd\.exe|powershell)"$/.test(args[0]?.text() ?? '') &&
        /^"(-c|\/c|-Command)"$/.test(args[1]?.text() ?? '')
      )
        return args[2];
    }
    return undefined;
  }
  if (ctx.lang === 'java') {
    if (/(^|\.)exec$/.test(c.callee) && /Runtime/.test(c.callee)) return c.args[0];
    if (
      c.callee === 'new ProcessBuilder' &&
      /^"(\/bin\/)?(sh|bash|cmd|cmd\.exe)"$/.test(c.args[0]?.text() ?? '') &&
      /^"(-c|\/c)"$/.test(c.args[1]?.text() ?? '')
    )
      return c.args[2];
  }
  return undefined;
}

export const commandInjection: RuleDefinition = {
  id: 'injection/command',
  name: 'Shell command built from strings',
  severity: 'error',
  cwe: 'CWE-78',
  short: 'A shell command line is built from run-time values: input can add commands.',
  help: 'Run the program directly with an argument list and no shell (execFile/spawn without shell, subprocess.run([...]), exec.Command(name, args...), ProcessBuilder with separate arguments).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const cmd = commandSink(ctx, c);
      if (!cmd || !dynamicString(ctx, cmd)) continue;
      out.push({
        node: c.node,
        confidence: cmd.kind() === 'identifier' ? 'medium' : 'high',
        message: `${c.callee}() runs a shell command built from run-time values.`,
      });
    }
    return out;
  },
};

export const INJECTION_RULES = [sqlInjection, commandInjection];
