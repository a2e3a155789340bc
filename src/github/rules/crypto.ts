import type { SgNode } from '@ast-grep/napi';
import { type Call, type FileContext, type RawFinding, functionOf, intentOf, literal, words } from './engine.js';
import { type RuleDefinition, VOCAB } from './rule.js';

const ALL = ['javascript', 'typescript', 'tsx', 'python', 'go', 'java'] as const;
const JS = new Set(['javascript', 'typescript', 'tsx']);
const normAlg = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
const WEAK_HASH = new Set(['md5', 'md4', 'md2', 'sha1', 'sha', 'ripemd160']);
const FAST_HASH = new Set([
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'sha512224',
  'sha512256',
  'sha3224',
  'sha3256',
  'sha3384',
  'sha3512',
  'blake2b',
  'blake2s',
]);

/** The hash algorithm a call computes directly (a digest, not an HMAC or a KDF), or null. */
function hashAlgorithm(ctx: FileContext, c: Call): string | null {
  const first = literal(c.args[0]);
  if (JS.has(ctx.lang)) {
    if (/(^|\.)createHash$/.test(c.callee) && first) return normAlg(first);
    if (/(^|\.)subtle\.digest$/.test(c.callee) && first) return normAlg(first);
    const m =
      /^(?:CryptoJS\.)?(MD5|SHA1|SHA256|SHA512|SHA224|SHA384)$/.exec(c.callee) ?? /^(md5|sha1|sha256)$/i.exec(c.callee);
    if (m && c.args.length >= 1) return normAlg(m[1] as string);
    return null;
  }
  if (ctx.lang === 'python') {
    if (c.kwargs.get('usedforsecurity')?.text() === 'False') return 'legit';
    if (/^(hashlib\.)?new$/.test(c.callee) && c.callee.startsWith('hashlib') && first) return normAlg(first);
    const m =
      /^(?:hashlib\.)?(md5|sha1|sha224|sha256|sha384|sha512|sha3_256|sha3_512|blake2b|blake2s)$/.exec(c.callee) ??
      /^(MD5|SHA1?|SHA256|SHA512)\.new$/.exec(c.callee);
    return m ? normAlg(m[1] as string) : null;
  }
  if (ctx.lang === 'go') {
    const m = /^(md5|sha1|sha256|sha512)\.(New|Sum|Sum256|Sum224|Sum512|New224|New512_256|Sum384|New384)$/.exec(
      c.callee,
    );
    return m ? normAlg(m[1] as string) : null;
  }
  if (ctx.lang === 'java') {
    if (/(^|\.)MessageDigest\.getInstance$/.test(c.callee) && first) return normAlg(first);
    const m = /(?:^|\.)(?:DigestUtils|Hashing)\.(md5|sha1|sha|sha256|sha512)(?:Hex|Base64)?$/i.exec(c.callee);
    return m ? normAlg(m[1] as string) : null;
  }
  return null;
}

const isNodeCrypto = (c: Call) =>
  /(^|\.)(createSign|createVerify)$/.test(c.callee) || /^crypto\.(sign|verify)$/.test(c.callee);

export const weakPasswordHash: RuleDefinition = {
  id: 'crypto/weak-password-hash',
  name: 'Password hashed with a fast or broken digest',
  severity: 'error',
  cwe: 'CWE-916',
  short: 'A password is hashed with MD5, SHA-1 or a plain SHA-2 digest: fast to brute-force, and unsalted.',
  help: 'Store passwords with a password hashing function: argon2id, scrypt, bcrypt, or PBKDF2 with a high iteration count (Node: crypto.scrypt; Python: hashlib.scrypt or argon2-cffi; Go: golang.org/x/crypto/argon2; Java: Argon2/BCrypt from Spring Security or Bouncy Castle).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const alg = hashAlgorithm(ctx, c);
      if (!alg || alg === 'legit' || (!WEAK_HASH.has(alg) && !FAST_HASH.has(alg))) continue;
      const intent = intentOf(ctx, c.node);
      if (!VOCAB.password.test(intent.all) || VOCAB.breachCheck.test(intent.all)) continue;
      // A reset or session token next to the word "password" is a high-entropy value: a fast digest is right for it.
      if (/ (tokens?|nonces?|api ?keys?|reset ?tokens?) /.test(intent.names) && !VOCAB.password.test(intent.names))
        continue;
      if (FAST_HASH.has(alg) && / (tokens?|nonces?) /.test(intent.all)) continue;
      if (/ (pbkdf2?|bcrypt|scrypt|argon2?\w*|kdf|hkdf) /.test(intent.statement)) continue;
      out.push({
        node: c.node,
        confidence: WEAK_HASH.has(alg) ? 'high' : 'medium',
        message: `${alg.toUpperCase()} is used to hash a password. ${WEAK_HASH.has(alg) ? 'It is broken and fast' : 'A plain digest is fast'}: stolen hashes are cracked in bulk.`,
      });
    }
    return out;
  },
};

export const weakSignatureHash: RuleDefinition = {
  id: 'crypto/weak-signature-hash',
  name: 'Signature or integrity check over MD5 or SHA-1',
  severity: 'error',
  cwe: 'CWE-328',
  short: 'A signature, MAC-like check or token is computed over MD5 or SHA-1, which allow practical collisions.',
  help: 'Sign with SHA-256 or better (RSA-PSS/ECDSA/Ed25519 with SHA-256), and use HMAC-SHA-256 for integrity. MD5/SHA-1 remain fine as non-security checksums, ETags or content ids; HMAC-SHA1 remains acceptable where a standard fixes it (RFC 6238 TOTP).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const first = literal(c.args[0]);
      // Signature APIs that name their digest.
      if (JS.has(ctx.lang) && isNodeCrypto(c) && first && /md5|sha1(?!\d)|sha-1(?!\d)|\bsha\b/i.test(first)) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: `The signature uses ${first}, which is open to collision attacks.`,
        });
        continue;
      }
      if (
        ctx.lang === 'java' &&
        /(^|\.)Signature\.getInstance$/.test(c.callee) &&
        first &&
        /^(MD5|MD2|SHA1|SHA-1)with/i.test(first)
      ) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: `${first} signs over a digest open to collision attacks.`,
          fix: { node: c.args[0] as SgNode, replacement: `"${first.replace(/^(MD5|MD2|SHA1|SHA-1)/i, 'SHA256')}"` },
        });
        continue;
      }
      if (
        ctx.lang === 'python' &&
        /(^|\.)(sign|verify)$/.test(c.callee) &&
        c.args.some((a) => /hashes\.(SHA1|MD5)\(\)/.test(a.text()))
      ) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: 'The signature is computed over SHA-1 or MD5, which are open to collision attacks.',
        });
        continue;
      }
      if (
        ctx.lang === 'go' &&
        /^(rsa|ecdsa|dsa)\.(Sign|Verify)\w*$/.test(c.callee) &&
        c.args.some((a) => /^crypto\.(SHA1|MD5|MD5SHA1)$/.test(a.text().trim()))
      ) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: 'The signature uses SHA-1 or MD5, which are open to collision attacks.',
        });
        continue;
      }
      // A plain MD5/SHA-1 digest: judged by what it is for.
      const alg = hashAlgorithm(ctx, c);
      if (!alg || !WEAK_HASH.has(alg)) continue;
      const intent = intentOf(ctx, c.node);
      if (VOCAB.password.test(intent.all)) continue; // crypto/weak-password-hash reports it
      if (VOCAB.legitHash.test(intent.all)) continue;
      if (VOCAB.signing.test(intent.all))
        out.push({
          node: c.node,
          confidence: VOCAB.signing.test(intent.names) ? 'high' : 'medium',
          message: `${alg.toUpperCase()} protects a signature or integrity check here; collisions let an attacker substitute data.`,
        });
      else
        out.push({
          node: c.node,
          confidence: 'low',
          message: `${alg.toUpperCase()} is a broken hash; fine as a checksum or cache key, not for anything an attacker may forge.`,
        });
    }
    return out;
  },
};

/** The cipher transformation a call selects (literal), e.g. "aes-128-ecb", "AES/ECB/PKCS5Padding". */
function cipherSpec(ctx: FileContext, c: Call): string | null {
  const first = literal(c.args[0]);
  if (JS.has(ctx.lang) && /(^|\.)(createCipheriv|createDecipheriv|createCipher|createDecipher)$/.test(c.callee))
    return first;
  if (ctx.lang === 'java' && /(^|\.)Cipher\.getInstance$/.test(c.callee)) return first;
  return null;
}

export const ecbMode: RuleDefinition = {
  id: 'crypto/ecb-mode',
  name: 'Block cipher in ECB mode',
  severity: 'error',
  cwe: 'CWE-327',
  short: 'ECB encrypts equal blocks to equal ciphertext, so patterns of the plaintext show through.',
  help: 'Use an authenticated mode with a fresh random nonce: AES-GCM (or ChaCha20-Poly1305). In Java name the mode explicitly ("AES/GCM/NoPadding"): "AES" alone means ECB.',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const spec = cipherSpec(ctx, c);
      if (spec !== null) {
        if (JS.has(ctx.lang) && (/-ecb$/i.test(spec) || /^(des-ede3?|des-ede)$/i.test(spec))) {
          out.push({
            node: c.node,
            confidence: 'high',
            message: `${spec} is ECB mode.`,
            ...(/^aes-\d+-ecb$/i.test(spec)
              ? { fix: { node: c.args[0] as SgNode, replacement: (c.args[0] as SgNode).text().replace(/ecb/i, 'gcm') } }
              : {}),
          });
        }
        if (ctx.lang === 'java') {
          const [alg = '', mode] = spec.split('/');
          if (/^(RSA|EC|ECIES)$/i.test(alg)) continue; // "RSA/ECB/…" names no block mode; OAEP is fine.
          if (
            (mode === undefined && /^(AES(_\d+)?|DES|DESede|TripleDES|Blowfish|RC2|SEED|Camellia)$/i.test(alg)) ||
            /^ECB$/i.test(mode ?? '')
          ) {
            out.push({
              node: c.node,
              confidence: 'high',
              message:
                mode === undefined ? `Cipher.getInstance("${spec}") defaults to ECB mode.` : `${spec} is ECB mode.`,
              ...(/^AES/i.test(alg) ? { fix: { node: c.args[0] as SgNode, replacement: '"AES/GCM/NoPadding"' } } : {}),
            });
          }
        }
        continue;
      }
      if (ctx.lang === 'python') {
        if (
          /\.new$/.test(c.callee) &&
          [...c.args, ...c.kwargs.values()].some((a) => /(^|\.)MODE_ECB$/.test(a.text().trim()))
        )
          out.push({
            node: c.node,
            confidence: 'high',
            message: 'MODE_ECB encrypts equal blocks to equal ciphertext.',
          });
        else if (/^(modes\.)?ECB$/.test(c.callee))
          out.push({
            node: c.node,
            confidence: 'high',
            message: 'modes.ECB() encrypts equal blocks to equal ciphertext.',
          });
        continue;
      }
      if (JS.has(ctx.lang)) {
        for (const a of c.args)
          if (/mode\s*:\s*CryptoJS\.mode\.ECB\b/.test(a.text()))
            out.push({
              node: a,
              confidence: 'high',
              message: 'CryptoJS.mode.ECB encrypts equal blocks to equal ciphertext.',
            });
        continue;
      }
      if (ctx.lang === 'go' && /^\w+\.(Encrypt|Decrypt)$/.test(c.callee) && c.args.length === 2) {
        // Go has no ECB mode: ECB is a raw block cipher applied block by block in a loop.
        const fn = functionOf(c.node);
        const recv = c.callee.split('.')[0] as string;
        const fnText = fn?.text() ?? '';
        const fromBlockCipher =
          new RegExp(`\\b${recv}\\b[^\\n]*(:=|=)\\s*(aes|des|blowfish|twofish|cast5)\\.New\\w*Cipher\\(`).test(
            fnText,
          ) || new RegExp(`\\b${recv}\\s+cipher\\.Block\\b`).test(fnText);
        if (!fromBlockCipher) continue;
        const inLoop = c.node.ancestors().some((a) => a.kind() === 'for_statement');
        out.push({
          node: c.node,
          confidence: inLoop ? 'high' : 'low',
          message: inLoop
            ? 'The block cipher is applied block by block: that is ECB mode.'
            : 'A raw block cipher call encrypts one block without a mode.',
        });
      }
    }
    return out;
  },
};

export const weakCipher: RuleDefinition = {
  id: 'crypto/weak-cipher',
  name: 'Broken or legacy cipher',
  severity: 'error',
  cwe: 'CWE-327',
  short: 'DES, 3DES, RC4, RC2 and Blowfish are broken or have blocks small enough for practical attacks.',
  help: 'Use AES-256-GCM or ChaCha20-Poly1305 from the standard library or a vetted one (libsodium, Tink).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    const WEAK =
      /^(des|des3|desede|des-ede\d?|des-ede3?-\w+|des-\w+|rc4|rc4-\w+|arc4|arcfour|rc2|rc2-\w+|bf|bf-\w+|blowfish|idea|idea-\w+|cast|cast5|cast-\w+|cast5-\w+|tripledes|3des)(\/.*)?$/i;
    for (const c of ctx.calls()) {
      const spec = cipherSpec(ctx, c);
      if (spec !== null) {
        if (WEAK.test(spec))
          out.push({ node: c.node, confidence: 'high', message: `${spec} is a broken or legacy cipher.` });
        continue;
      }
      if (
        ctx.lang === 'java' &&
        /(^|\.)(KeyGenerator|SecretKeyFactory)\.getInstance$/.test(c.callee) &&
        WEAK.test(literal(c.args[0]) ?? '')
      )
        out.push({
          node: c.node,
          confidence: 'high',
          message: `${literal(c.args[0])} keys are for a broken or legacy cipher.`,
        });
      if (
        ctx.lang === 'python' &&
        (/^(DES|DES3|ARC4|ARC2|Blowfish|CAST)\.new$/.test(c.callee) ||
          /^(algorithms\.)?(TripleDES|ARC4|Blowfish|IDEA|CAST5|SEED)$/.test(c.callee))
      )
        out.push({
          node: c.node,
          confidence: 'high',
          message: `${c.callee.replace(/\.new$/, '')} is a broken or legacy cipher.`,
        });
      if (
        ctx.lang === 'go' &&
        /^(des\.NewCipher|des\.NewTripleDESCipher|rc4\.NewCipher|blowfish\.NewCipher|cast5\.NewCipher)$/.test(c.callee)
      )
        out.push({ node: c.node, confidence: 'high', message: `${c.callee} is a broken or legacy cipher.` });
      if (JS.has(ctx.lang) && /^CryptoJS\.(DES|TripleDES|RC4|RC4Drop|Rabbit)\.(encrypt|decrypt)$/.test(c.callee))
        out.push({
          node: c.node,
          confidence: 'high',
          message: `${c.callee.split('.')[1]} is a broken or legacy cipher.`,
        });
    }
    return out;
  },
};

// --- Static IVs and nonces ---------------------------------------------------------------------

/** Expressions that always produce the same bytes. */
function constantBytes(ctx: FileContext, text: string): boolean {
  const t = text.trim();
  if (VOCAB.randomSource.test(t)) return false;
  if (literal({ text: () => t } as SgNode) !== null) return true;
  if (/^[bB]["']/.test(t)) return true;
  if (JS.has(ctx.lang))
    return /^(Buffer\.(from|alloc)\(\s*(["'`][^$]*["'`]|\[[\d\s,x]*\]|\d+)\s*(,\s*(["'`]\w+["'`]|\d+))?\s*\)|new\s+Uint8Array\(\s*(\d+|\[[\d\s,x]*\])\s*\)|["'`][^"'`]*["'`]\.repeat\(\d+\)|new\s+TextEncoder\(\)\.encode\(\s*["'`][^$]*["'`]\s*\))$/.test(
      t,
    );
  if (ctx.lang === 'python')
    return /^(b["'][^"']*["']\s*\*\s*\d+|bytes\(\s*\d+\s*\)|bytearray\(\s*\d+\s*\)|bytes\.fromhex\(\s*["'][^"']*["']\s*\)|["'][^"']*["']\.encode\([^)]*\)|bytes\(\[[\d\s,x]*\]\)|b["'][^"']*["'])$/.test(
      t,
    );
  if (ctx.lang === 'go')
    return /^(\[\]byte\(\s*"[^"]*"\s*\)|\[\]byte\{[\d\s,x]*\}|make\(\[\]byte,\s*[\w.]+\))$/.test(t);
  if (ctx.lang === 'java')
    return /^("[^"]*"\.getBytes\([^)]*\)|new\s+byte\[\]\s*\{[^}]*\}|new\s+byte\[\s*[\w.]+\s*\]|\{[\d\s,x-]*\})$/.test(
      t,
    );
  return false;
}

/** Whether an IV/nonce expression is the same on every call: a constant, or a variable bound to one and never filled with randomness. */
function isStaticIv(ctx: FileContext, node: SgNode): boolean {
  const t = node.text().trim();
  if (constantBytes(ctx, t)) return true;
  if (!/^[A-Za-z_$][\w$.]*$/.test(t)) return false;
  const esc = (t.split('.').pop() as string).replace(/\$/g, '\\$');
  const mentions = new RegExp(`\\b${esc}\\b`);
  const definition = new RegExp(`\\b${esc}\\b\\s*(?::\\s*[\\w<>\\[\\]]+\\s*)?(?::=|=)(?!=)\\s*([^;\\n]+)`);
  for (const scope of [functionOf(node)?.text() ?? '', ctx.text]) {
    if (!scope) continue;
    const lines = scope.split('\n').filter((l) => mentions.test(l));
    // Bound to, or filled by, a random source anywhere in scope: a fresh value (make + io.ReadFull, Buffer.alloc + randomFillSync, …).
    if (lines.some((l) => VOCAB.randomSource.test(l))) return false;
    const def = definition.exec(scope);
    if (def?.[1]) return constantBytes(ctx, def[1].trim().replace(/[;,]\s*$/, ''));
  }
  return false;
}

/** The IV/nonce argument of a cipher call, per language and API. */
function ivArgument(ctx: FileContext, c: Call): SgNode | null {
  if (JS.has(ctx.lang)) {
    if (/(^|\.)(createCipheriv)$/.test(c.callee)) return c.args[2] ?? null;
    if (/(^|\.)subtle\.encrypt$/.test(c.callee) && c.args[0]?.kind() === 'object') {
      for (const p of c.args[0].children()) {
        if (p.kind() === 'pair' && /^["']?(iv|nonce|counter)["']?$/.test(p.field('key')?.text() ?? ''))
          return p.field('value');
        if (p.kind() === 'shorthand_property_identifier' && /^(iv|nonce|counter)$/.test(p.text())) return p;
      }
    }
    return null;
  }
  if (ctx.lang === 'python') {
    const kw = c.kwargs.get('iv') ?? c.kwargs.get('nonce') ?? c.kwargs.get('initialization_vector');
    if (kw && (/\.new$/.test(c.callee) || /^(modes\.)?(CBC|GCM|CTR|OFB|CFB|CFB8)$/.test(c.callee))) return kw;
    if (
      /^(AES|DES3|ChaCha20|ChaCha20_Poly1305|Salsa20)\.new$/.test(c.callee) &&
      c.args.length >= 3 &&
      !/MODE_ECB/.test(c.args[1]?.text() ?? '')
    )
      return c.args[2] ?? null;
    if (/^(modes\.)?(CBC|GCM|CTR|OFB|CFB|CFB8)$/.test(c.callee)) return c.args[0] ?? null;
    if (
      /\.encrypt$/.test(c.callee) &&
      c.args.length === 3 &&
      /\b(AESGCM|ChaCha20Poly1305|AESCCM|AESOCB3|AESSIV|XChaCha20Poly1305)\b/.test(ctx.text)
    )
      return c.args[0] ?? null;
    return null;
  }
  if (ctx.lang === 'go') {
    if (/^cipher\.(NewCBCEncrypter|NewCTR|NewCFBEncrypter|NewOFB)$/.test(c.callee)) return c.args[1] ?? null;
    if (/\.Seal$/.test(c.callee) && c.args.length === 4) return c.args[1] ?? null;
    return null;
  }
  if (ctx.lang === 'java') {
    if (c.callee === 'new IvParameterSpec' || c.callee === 'new javax.crypto.spec.IvParameterSpec')
      return c.args[0] ?? null;
    if (c.callee === 'new GCMParameterSpec' || c.callee === 'new ChaCha20ParameterSpec')
      return c.callee.endsWith('GCMParameterSpec') ? (c.args[1] ?? null) : (c.args[0] ?? null);
  }
  return null;
}

export const staticIv: RuleDefinition = {
  id: 'crypto/static-iv',
  name: 'Static or reused IV/nonce',
  severity: 'error',
  cwe: 'CWE-329',
  short:
    'The IV or nonce is a constant, so it repeats for every message: CBC leaks equal prefixes, and GCM/CTR leak the plaintext and (GCM) the authentication key.',
  help: 'Generate a fresh random IV/nonce for every encryption (12 bytes for GCM) with a CSPRNG — crypto.randomBytes, os.urandom, crypto/rand, SecureRandom — and store it next to the ciphertext.',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    for (const c of ctx.calls()) {
      const iv = ivArgument(ctx, c);
      if (!iv || !isStaticIv(ctx, iv)) continue;
      // A decryption of a test vector is not an encryption: Go's Open, JS createDecipheriv are not considered.
      out.push({
        node: iv,
        confidence: constantBytes(ctx, iv.text()) ? 'high' : 'medium',
        message: `The IV/nonce "${iv.text().slice(0, 60)}" is the same on every call.`,
      });
    }
    return out;
  },
};

// --- Insecure randomness -------------------------------------------------------------------------

function mathRandAlias(ctx: FileContext): string | null {
  const m = /(?:^|\n|\(|import)[ \t]*(\w+[ \t]+)?"math\/rand(?:\/v2)?"/.exec(ctx.text);
  if (!m) return null;
  const alias = m[1]?.trim();
  return alias && alias !== 'import' ? alias : 'rand';
}

/** Calls that draw from a non-cryptographic generator. */
function weakRandom(ctx: FileContext, c: Call, goAlias: string | null): boolean {
  if (JS.has(ctx.lang)) return c.callee === 'Math.random';
  if (ctx.lang === 'python')
    return /^random\.(random|randint|randrange|choice|choices|sample|getrandbits|uniform|randbytes)$/.test(c.callee);
  if (ctx.lang === 'go')
    return (
      !!goAlias &&
      new RegExp(
        `^${goAlias}\\.(Int|Intn|Int31|Int31n|Int63|Int63n|IntN|Uint32|Uint64|Float32|Float64|Read|Perm|N|Uint64N|Uint32N)$`,
      ).test(c.callee)
    );
  if (ctx.lang === 'java')
    return (
      c.callee === 'new Random' ||
      c.callee === 'new java.util.Random' ||
      c.callee === 'Math.random' ||
      /^ThreadLocalRandom\.current\(\)\.next\w+$/.test(c.callee) ||
      /^RandomStringUtils\.random\w*$/.test(c.callee) ||
      /^RandomUtils\.next\w+$/.test(c.callee)
    );
  return false;
}

export const insecureRandom: RuleDefinition = {
  id: 'crypto/insecure-random',
  name: 'Predictable random value used as a secret',
  severity: 'error',
  cwe: 'CWE-338',
  short:
    'A token, key, password, salt or nonce comes from a non-cryptographic generator, whose outputs can be predicted from a few samples.',
  help: 'Use the platform CSPRNG: crypto.randomBytes / crypto.randomUUID / crypto.getRandomValues (JS), secrets (Python), crypto/rand (Go), SecureRandom (Java).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    const goAlias = ctx.lang === 'go' ? mathRandAlias(ctx) : null;
    for (const c of ctx.calls()) {
      const weak = weakRandom(ctx, c, goAlias);
      if (!weak) continue;
      const intent = intentOf(ctx, c.node);
      const fn = words(
        c.node
          .ancestors()
          .find((a) => /function|method/.test(String(a.kind())))
          ?.field('name')
          ?.text() ?? '',
      );
      const named = VOCAB.token.test(intent.names) || VOCAB.token.test(fn);
      const around = VOCAB.token.test(intent.all);
      const confidence = named ? 'high' : around && !VOCAB.legitRandom.test(intent.all) ? 'medium' : 'low';
      let fix: RawFinding['fix'];
      if (confidence !== 'low' && c.callee === 'random.choice')
        fix = { node: c.node.field('function') as SgNode, replacement: 'secrets.choice' };
      else if (confidence !== 'low' && ctx.lang === 'java' && c.isNew)
        fix = { node: c.node, replacement: c.node.text().replace(/new\s+(java\.util\.)?Random\b/, 'new SecureRandom') };
      out.push({
        node: c.node,
        confidence,
        message:
          confidence === 'low'
            ? `${c.callee} is not cryptographically secure; fine for jitter, sampling or UI, not for secrets.`
            : `${c.callee} generates a security-sensitive value here, and its output is predictable.`,
        ...(fix ? { fix } : {}),
      });
    }
    return out;
  },
};

// --- RSA without padding -------------------------------------------------------------------------

export const rsaNoPadding: RuleDefinition = {
  id: 'crypto/rsa-no-padding',
  name: 'RSA without padding (textbook RSA)',
  severity: 'error',
  cwe: 'CWE-780',
  short:
    'Raw RSA is deterministic and malleable: equal messages give equal ciphertexts and an attacker can transform them.',
  help: 'Encrypt with RSA-OAEP (SHA-256) and sign with RSA-PSS, or use hybrid encryption (libsodium sealed boxes, Tink).',
  languages: ALL,
  check(ctx) {
    const out: RawFinding[] = [];
    if (JS.has(ctx.lang)) {
      for (const n of ctx.root.findAll({
        rule: {
          any: [{ kind: 'member_expression' }, { kind: 'identifier' }],
          regex: '^(?:[\\w.]+\\.)?RSA_NO_PADDING$',
        },
      })) {
        if (n.parent()?.kind() === 'member_expression' && n.kind() === 'identifier') continue;
        out.push({
          node: n,
          confidence: 'high',
          message: 'RSA_NO_PADDING performs textbook RSA.',
          fix: { node: n, replacement: n.text().replace(/RSA_NO_PADDING$/, 'RSA_PKCS1_OAEP_PADDING') },
        });
      }
      for (const c of ctx.calls())
        if (/\.(encrypt|decrypt)$/.test(c.callee) && literal(c.args[1]) === 'RAW')
          out.push({ node: c.node, confidence: 'high', message: "The 'RAW' scheme performs textbook RSA." });
      return out;
    }
    for (const c of ctx.calls()) {
      const first = literal(c.args[0]);
      if (
        ctx.lang === 'java' &&
        /(^|\.)Cipher\.getInstance$/.test(c.callee) &&
        first &&
        /^RSA\/[^/]+\/NoPadding$/i.test(first)
      ) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: `${first} is textbook RSA.`,
          fix: { node: c.args[0] as SgNode, replacement: '"RSA/ECB/OAEPWithSHA-256AndMGF1Padding"' },
        });
      }
      if (ctx.lang === 'python') {
        if (
          c.callee === 'pow' &&
          c.args.length === 3 &&
          /\.(e|d)$/.test(c.args[1]?.text().trim() ?? '') &&
          /\.n$/.test(c.args[2]?.text().trim() ?? '')
        )
          out.push({ node: c.node, confidence: 'high', message: 'pow(m, e, n) with an RSA key is textbook RSA.' });
        if (/(^|\.)(_encrypt|_decrypt|encrypt_int|decrypt_int)$/.test(c.callee))
          out.push({ node: c.node, confidence: 'high', message: `${c.callee} is textbook RSA.` });
        if (
          /\.encrypt$/.test(c.callee) &&
          c.args.length === 2 &&
          /^\d+$/.test(c.args[1]?.text() ?? '') &&
          /Crypto\.PublicKey|RSA\.(construct|importKey|generate)/.test(ctx.text)
        )
          out.push({ node: c.node, confidence: 'high', message: 'key.encrypt(m, K) of PyCrypto is textbook RSA.' });
      }
      if (
        ctx.lang === 'go' &&
        /\.Exp$/.test(c.callee) &&
        c.args.length === 3 &&
        /\.N$/.test(c.args[2]?.text().trim() ?? '') &&
        /\.(E|D)\b/.test(c.args[1]?.text() ?? '')
      ) {
        out.push({
          node: c.node,
          confidence: 'high',
          message: 'big.Int Exp with the key exponent and modulus is textbook RSA.',
        });
      }
    }
    return out;
  },
};

export const CRYPTO_RULES = [
  weakPasswordHash,
  weakSignatureHash,
  ecbMode,
  weakCipher,
  staticIv,
  insecureRandom,
  rsaNoPadding,
];
