import { createRequire } from 'node:module';
import { Lang, type SgNode, parse, registerDynamicLanguage } from '@ast-grep/napi';

/**
 * The rule engine: ast-grep (tree-sitter grammars) parses TypeScript/JavaScript, Python, Go and
 * Java; rules walk the syntax tree (calls, object properties, keyword arguments, class bodies) and
 * decide with the code around a match — the variable a result is stored in, the function it is in,
 * the lines that use that variable — whether a use is weak or legitimate. Rules are written for the
 * general case (vocabularies of intent, not the names in a corpus).
 */
const require = createRequire(import.meta.url);
registerDynamicLanguage({
  python: require('@ast-grep/lang-python'),
  go: require('@ast-grep/lang-go'),
  java: require('@ast-grep/lang-java'),
});

export type Language = 'javascript' | 'typescript' | 'tsx' | 'python' | 'go' | 'java';
export type Confidence = 'high' | 'medium' | 'low';
export type Severity = 'error' | 'warning' | 'note';

const EXT: Record<string, Language> = {
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'tsx',
  ts: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  tsx: 'tsx',
  py: 'python',
  go: 'go',
  java: 'java',
};
const PARSER: Record<Language, Lang | string> = {
  javascript: Lang.JavaScript,
  typescript: Lang.TypeScript,
  tsx: Lang.Tsx,
  python: 'python',
  go: 'go',
  java: 'java',
};

export function languageOf(path: string): Language | null {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? null : (EXT[path.slice(dot + 1).toLowerCase()] ?? null);
}

/** A call in any of the four languages, normalized. */
export interface Call {
  node: SgNode;
  /** The callee as written, whitespace removed: `crypto.createHash`, `hashlib.md5`, `Cipher.getInstance`, `new IvParameterSpec`. */
  callee: string;
  /** Its last segment: `createHash`, `md5`, `getInstance`, `IvParameterSpec`. */
  name: string;
  args: SgNode[];
  /** Python keyword arguments by name. */
  kwargs: Map<string, SgNode>;
  isNew: boolean;
}

export interface RawFinding {
  node: SgNode;
  confidence: Confidence;
  message: string;
  /** Replacement for the node's text that fixes the problem, when one exists. */
  fix?: { node: SgNode; replacement: string };
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  confidence: Confidence;
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** A one-line fix: the whole new text of line `suggestion.line`, when there is one. */
  suggestion: { line: number; text: string } | null;
}

export interface FileContext {
  path: string;
  lang: Language;
  root: SgNode;
  text: string;
  lines: string[];
  calls(): Call[];
}

const CALL_KINDS: Record<Language, string[]> = {
  javascript: ['call_expression', 'new_expression'],
  typescript: ['call_expression', 'new_expression'],
  tsx: ['call_expression', 'new_expression'],
  python: ['call'],
  go: ['call_expression'],
  java: ['method_invocation', 'object_creation_expression'],
};

const squash = (s: string) => s.replace(/\s+/g, '');

function toCall(lang: Language, node: SgNode): Call | null {
  const kind = String(node.kind());
  let callee = '';
  let argsNode: SgNode | null = null;
  let isNew = false;
  if (kind === 'new_expression') {
    callee = `new ${node.field('constructor')?.text() ?? ''}`;
    argsNode = node.field('arguments');
    isNew = true;
  } else if (kind === 'object_creation_expression') {
    callee = `new ${node.field('type')?.text() ?? ''}`;
    argsNode = node.field('arguments');
    isNew = true;
  } else if (kind === 'method_invocation') {
    const obj = node.field('object')?.text();
    callee = `${obj ? `${obj}.` : ''}${node.field('name')?.text() ?? ''}`;
    argsNode = node.field('arguments');
  } else {
    callee = node.field('function')?.text() ?? '';
    argsNode = node.field('arguments');
  }
  if (!callee || callee.length > 300) return null;
  callee = isNew ? `new ${squash(callee.slice(4))}` : squash(callee);
  const args: SgNode[] = [];
  const kwargs = new Map<string, SgNode>();
  for (const c of argsNode?.children() ?? []) {
    if (!c.isNamed() || c.kind() === 'comment') continue;
    if (lang === 'python' && c.kind() === 'keyword_argument') {
      const name = c.field('name')?.text();
      const value = c.field('value');
      if (name && value) kwargs.set(name, value);
      continue;
    }
    args.push(c);
  }
  const name = callee.replace(/^new /, '').replace(/<.*$/, '').split('.').pop() ?? callee;
  return { node, callee, name, args, kwargs, isNew };
}

export function parseFile(path: string, text: string): FileContext | null {
  const lang = languageOf(path);
  if (!lang) return null;
  let root: SgNode;
  try {
    root = parse(PARSER[lang] as Lang, text).root();
  } catch {
    return null;
  }
  let calls: Call[] | null = null;
  return {
    path,
    lang,
    root,
    text,
    lines: text.split('\n'),
    calls() {
      calls ??= CALL_KINDS[lang]
        .flatMap((k) => root.findAll({ rule: { kind: k } }))
        .map((n) => toCall(lang, n))
        .filter((c): c is Call => c !== null);
      return calls;
    },
  };
}

// --- What a piece of code is about --------------------------------------------------------------

/** Splits identifiers into words (camelCase, snake_case, kebab, dots) and lower-cases: "hashUserPassword" → "hash user password". */
export function words(text: string): string {
  return ` ${text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[^A-Za-z0-9]+/g, ' ')
    .toLowerCase()} `;
}

const JS_LIKE = new Set<Language>(['javascript', 'typescript', 'tsx']);
const STATEMENT =
  /(^|_)(statement|declaration|declarator|assignment|field_definition|pair|keyword_argument|return_statement|decorated_definition)$/;
const FUNCTION = new Set([
  'function_declaration',
  'function_definition',
  'method_definition',
  'method_declaration',
  'constructor_declaration',
  'arrow_function',
  'function_expression',
  'function',
  'func_literal',
  'lambda_expression',
  'generator_function_declaration',
]);

/** The smallest statement (or declaration) around a node. */
export function statementOf(node: SgNode): SgNode {
  let cur: SgNode = node;
  for (let i = 0; i < 12; i++) {
    const p = cur.parent();
    if (!p) return cur;
    cur = p;
    if (
      /(statement|declaration|assignment|field_definition)$/.test(String(cur.kind())) &&
      !/^(variable_declarator|pair)$/.test(String(cur.kind()))
    )
      return cur;
  }
  return cur;
}

export function functionOf(node: SgNode): SgNode | null {
  for (const a of node.ancestors()) if (FUNCTION.has(String(a.kind()))) return a;
  return null;
}

/** The function's name, or the variable/property an anonymous function is assigned to. */
export function functionName(fn: SgNode | null): string {
  if (!fn) return '';
  const own = fn.field('name')?.text();
  if (own) return own;
  const p = fn.parent();
  if (p && /variable_declarator|pair|assignment|public_field_definition/.test(String(p.kind())))
    return (p.field('name') ?? p.field('key') ?? p.field('left'))?.text() ?? '';
  return '';
}

/** The variable a statement assigns (`const x = …`, `x = …`, `x := …`, `Type x = …`), if any. */
export function assignedName(stmt: string): string | null {
  const m =
    /^\s*(?:(?:export\s+)?(?:const|let|var|val|final|private|public|protected|static|readonly|\s)*(?:[\w<>[\],.?]+\s+)?)?([A-Za-z_$][\w$]*)\s*(?::[^=]+)?(?::=|=)(?!=)/.exec(
      stmt,
    );
  return m ? (m[1] ?? null) : null;
}

export interface Intent {
  /** The statement around the match. */
  statement: string;
  /** Statement, enclosing function name, and the lines of that function that use the assigned variable. */
  all: string;
  /** Only the names: the assigned variable and the function. */
  names: string;
}

/** What the code around `node` is about, as words (see `words`). */
export function intentOf(ctx: FileContext, node: SgNode): Intent {
  const stmtNode = statementOf(node);
  const stmt = stmtNode.text().slice(0, 2000);
  const fn = functionOf(node);
  const fname = functionName(fn);
  const assigned = assignedName(stmt);
  let uses = '';
  let useSites = '';
  if (assigned) {
    const scope = (fn ?? ctx.root).text();
    const esc = assigned.replace(/\$/g, '\\$');
    // One- and two-letter names (h, md) count only where they are used as a value: h.update(…), f(h), h[:].
    const re = assigned.length > 2 ? new RegExp(`\\b${esc}\\b`) : new RegExp(`\\b${esc}\\s*[.(\\[,)]`);
    if (scope.length < 50_000) {
      uses = scope
        .split('\n')
        .filter((l) => re.test(l))
        .slice(0, 12)
        .join('\n');
    }
    // A generator or digest kept in a field or module variable is judged by the functions that use it.
    if (!fn && assigned.length > 2) {
      useSites = ctx.root
        .findAll({ rule: { kind: 'identifier', regex: `^${esc}$` } })
        .concat(
          ctx.lang === 'java' || JS_LIKE.has(ctx.lang)
            ? ctx.root.findAll({
                rule: { kind: ctx.lang === 'java' ? 'identifier' : 'property_identifier', regex: `^${esc}$` },
              })
            : [],
        )
        .slice(0, 30)
        .map((n) => functionName(functionOf(n)))
        .join(' ');
    }
  }
  return {
    statement: words(stmt),
    all: words(`${stmt}\n${fname}\n${uses}\n${useSites}`),
    names: words(`${assigned ?? ''} ${fname} ${useSites}`),
  };
}

/** A string literal's value (quotes removed), or null when the node is not a plain literal. */
export function literal(node: SgNode | undefined | null): string | null {
  if (!node) return null;
  const t = node.text().trim();
  const m = /^(?:[rRbBuUfF]{0,2})(["'`])([\s\S]*)\1$/.exec(t);
  if (!m || (m[1] === '`' && t.includes('${'))) return null;
  if (/^[fF]/.test(t) && t.includes('{')) return null;
  return m[2] ?? '';
}

export function toFinding(ctx: FileContext, ruleId: string, severity: Severity, raw: RawFinding): Finding {
  const r = raw.node.range();
  let suggestion: Finding['suggestion'] = null;
  if (raw.fix) {
    const fr = raw.fix.node.range();
    if (fr.start.line === fr.end.line) {
      const line = ctx.lines[fr.start.line] ?? '';
      const candidate = line.slice(0, fr.start.column) + raw.fix.replacement + line.slice(fr.end.column);
      if (candidate !== line) suggestion = { line: fr.start.line + 1, text: candidate };
    }
  }
  return {
    ruleId,
    severity,
    confidence: raw.confidence,
    message: raw.message,
    line: r.start.line + 1,
    column: r.start.column + 1,
    endLine: r.end.line + 1,
    endColumn: r.end.column + 1,
    suggestion,
  };
}
