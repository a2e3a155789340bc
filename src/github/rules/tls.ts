import type { SgNode } from '@ast-grep/napi';
import type { FileContext, RawFinding } from './engine.js';
import type { RuleDefinition } from './rule.js';

const JS = new Set(['javascript', 'typescript', 'tsx']);
const keyName = (n: SgNode | null) => (n?.text() ?? '').replace(/^["'`]|["'`]$/g, '');

function jsChecks(ctx: FileContext): RawFinding[] {
  const out: RawFinding[] = [];
  for (const p of ctx.root.findAll({ rule: { kind: 'pair' } })) {
    const key = keyName(p.field('key'));
    const value = p.field('value');
    const v = value?.text().trim() ?? '';
    if ((key === 'rejectUnauthorized' || key === 'strictSSL') && (v === 'false' || v === '0')) {
      out.push({
        node: p,
        confidence: 'high',
        message: `${key}: ${v} turns off TLS certificate verification: anyone on the path can read and change the traffic.`,
        fix: { node: value as SgNode, replacement: 'true' },
      });
    } else if (
      key === 'checkServerIdentity' &&
      value &&
      /^(\(\s*[^)]*\)\s*=>\s*(undefined|null|\{\s*\})|function\s*\w*\s*\([^)]*\)\s*\{\s*(return\s*(undefined|null)?;?\s*)?\})$/.test(
        v,
      )
    ) {
      out.push({
        node: p,
        confidence: 'high',
        message: 'checkServerIdentity accepts every certificate name: host name verification is off.',
      });
    } else if (key === 'insecureSkipVerify' && v === 'true') {
      out.push({
        node: p,
        confidence: 'high',
        message: 'insecureSkipVerify: true turns off TLS certificate verification.',
        fix: { node: value as SgNode, replacement: 'false' },
      });
    }
  }
  for (const a of ctx.root.findAll({ rule: { kind: 'assignment_expression' } })) {
    const left = a.field('left')?.text() ?? '';
    const right = a.field('right')?.text().trim() ?? '';
    if (/NODE_TLS_REJECT_UNAUTHORIZED["'\]]*$/.test(left) && /^(["'`]0["'`]|0|["'`]false["'`])$/.test(right))
      out.push({
        node: a,
        confidence: 'high',
        message:
          'NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate verification for every TLS connection of the process.',
      });
    if (/\.rejectUnauthorized$/.test(left) && right === 'false')
      out.push({
        node: a,
        confidence: 'high',
        message: 'rejectUnauthorized = false turns off TLS certificate verification.',
      });
  }
  return out;
}

function pythonChecks(ctx: FileContext): RawFinding[] {
  const out: RawFinding[] = [];
  for (const c of ctx.calls()) {
    for (const name of ['verify', 'verify_ssl', 'ssl', 'check_hostname']) {
      const v = c.kwargs.get(name);
      if (v && v.text() === 'False' && !/^(open|print|log|logger\.\w+|dict)$/.test(c.callee)) {
        out.push({
          node: v.parent() ?? v,
          confidence: 'high',
          message: `${name}=False turns off TLS certificate verification for ${c.callee}().`,
          fix: { node: v, replacement: 'True' },
        });
      }
    }
    const req = c.kwargs.get('cert_reqs');
    if (req && /CERT_NONE/.test(req.text()))
      out.push({
        node: req.parent() ?? req,
        confidence: 'high',
        message: 'cert_reqs=CERT_NONE turns off certificate verification.',
      });
    if (/(^|\.)_create_unverified_context$/.test(c.callee) || /(^|\.)_create_unverified_https_context$/.test(c.callee))
      out.push({ node: c.node, confidence: 'high', message: 'An unverified SSL context accepts any certificate.' });
  }
  for (const a of ctx.root.findAll({ rule: { kind: 'assignment' } })) {
    const left = a.field('left')?.text() ?? '';
    const right = a.field('right')?.text().trim() ?? '';
    if (/\.verify_mode$/.test(left) && /CERT_NONE$/.test(right))
      out.push({
        node: a,
        confidence: 'high',
        message: 'verify_mode = CERT_NONE accepts any certificate.',
        fix: { node: a.field('right') as SgNode, replacement: right.replace(/CERT_NONE$/, 'CERT_REQUIRED') },
      });
    else if (/\.check_hostname$/.test(left) && right === 'False')
      out.push({
        node: a,
        confidence: 'medium',
        message: 'check_hostname = False accepts a valid certificate for any host name.',
      });
    else if (/(^|\.)_create_default_https_context$/.test(left) && /_create_unverified_context$/.test(right))
      out.push({
        node: a,
        confidence: 'high',
        message: 'Every HTTPS connection of the process now skips certificate verification.',
      });
    else if (
      /(^|\.)(verify|session\.verify)$/.test(left) &&
      right === 'False' &&
      /\b(session|Session|requests|httpx)\b/.test(ctx.text)
    )
      out.push({
        node: a,
        confidence: 'high',
        message: 'session.verify = False turns off TLS certificate verification.',
        fix: { node: a.field('right') as SgNode, replacement: 'True' },
      });
  }
  return out;
}

function goChecks(ctx: FileContext): RawFinding[] {
  const out: RawFinding[] = [];
  for (const k of ctx.root.findAll({ rule: { kind: 'keyed_element' } })) {
    const text = k.text();
    const m = /^InsecureSkipVerify\s*:\s*(.+)$/s.exec(text);
    if (!m) continue;
    const v = (m[1] as string).trim();
    if (v === 'true')
      out.push({
        node: k,
        confidence: 'high',
        message: 'InsecureSkipVerify: true turns off TLS certificate verification.',
        fix: { node: k, replacement: text.replace(/true\s*$/, 'false') },
      });
    else if (v !== 'false')
      out.push({
        node: k,
        confidence: 'low',
        message: 'InsecureSkipVerify is set from a variable; make sure it is never true in production.',
      });
  }
  for (const a of ctx.root.findAll({ rule: { kind: 'assignment_statement' } })) {
    if (/\.InsecureSkipVerify\s*=\s*true$/.test(a.text().trim()))
      out.push({
        node: a,
        confidence: 'high',
        message: 'InsecureSkipVerify = true turns off TLS certificate verification.',
      });
  }
  return out;
}

function javaChecks(ctx: FileContext): RawFinding[] {
  const out: RawFinding[] = [];
  for (const m of ctx.root.findAll({ rule: { kind: 'method_declaration' } })) {
    const name = m.field('name')?.text();
    const body = m.field('body');
    if (!body) continue;
    const statements = body
      .children()
      .filter((c) => c.isNamed() && c.kind() !== 'line_comment' && c.kind() !== 'block_comment');
    if (
      name === 'checkServerTrusted' &&
      !statements.some((s) => /throw|checkServerTrusted|check\w*\(/.test(s.text()))
    ) {
      out.push({ node: m, confidence: 'high', message: 'This TrustManager accepts every server certificate.' });
    }
    if (
      name === 'verify' &&
      /SSLSession/.test(m.field('parameters')?.text() ?? '') &&
      statements.length === 1 &&
      /^return\s+true\s*;$/.test(statements[0]?.text().trim() ?? '')
    ) {
      out.push({ node: m, confidence: 'high', message: 'This HostnameVerifier accepts every host name.' });
    }
  }
  for (const c of ctx.calls()) {
    if (
      /(^|\.)(setHostnameVerifier|setDefaultHostnameVerifier|setSSLHostnameVerifier)$/.test(c.callee) &&
      /^\(\s*\w+\s*,\s*\w+\s*\)\s*->\s*true$|NoopHostnameVerifier|ALLOW_ALL_HOSTNAME_VERIFIER|AllowAllHostnameVerifier/.test(
        c.args[0]?.text().trim() ?? '',
      )
    ) {
      out.push({ node: c.node, confidence: 'high', message: 'The HostnameVerifier accepts every host name.' });
    }
    if (
      /(^|\.)loadTrustMaterial$/.test(c.callee) &&
      c.args.some((a) =>
        /^\(\s*\w+\s*,\s*\w+\s*\)\s*->\s*true$|TrustAllStrategy|TrustSelfSignedStrategy/.test(a.text().trim()),
      )
    ) {
      out.push({
        node: c.node,
        confidence: 'high',
        message: 'This trust strategy accepts certificates without verifying them.',
      });
    }
    if (c.callee === 'new NoopHostnameVerifier' || c.callee === 'new AllowAllHostnameVerifier')
      out.push({ node: c.node, confidence: 'high', message: `${c.callee.slice(4)} accepts every host name.` });
  }
  for (const f of ctx.root.findAll({
    rule: {
      kind: 'field_access',
      regex:
        '^(NoopHostnameVerifier\\.INSTANCE|SSLConnectionSocketFactory\\.ALLOW_ALL_HOSTNAME_VERIFIER|TrustAllStrategy\\.INSTANCE)$',
    },
  })) {
    if (!out.some((o) => o.node.range().start.line === f.range().start.line))
      out.push({
        node: f,
        confidence: 'high',
        message: `${f.text()} turns off certificate or host name verification.`,
      });
  }
  return out;
}

export const tlsVerificationDisabled: RuleDefinition = {
  id: 'tls/verification-disabled',
  name: 'TLS certificate verification disabled',
  severity: 'error',
  cwe: 'CWE-295',
  short:
    'Certificate or host name verification is turned off, so anyone on the network path can impersonate the server.',
  help: 'Keep verification on. For a private CA, trust it explicitly (Node: ca option or NODE_EXTRA_CA_CERTS; Python: verify="/path/ca.pem"; Go: RootCAs; Java: a TrustManager built from a KeyStore holding the CA).',
  languages: ['javascript', 'typescript', 'tsx', 'python', 'go', 'java'],
  check(ctx) {
    if (JS.has(ctx.lang)) return jsChecks(ctx);
    if (ctx.lang === 'python') return pythonChecks(ctx);
    if (ctx.lang === 'go') return goChecks(ctx);
    return javaChecks(ctx);
  },
};
