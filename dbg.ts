import { readFileSync } from 'node:fs';
import { parseFile, intentOf } from './src/github/rules/engine.js';
for (const f of ['test/github/corpus/crypto/weak-signature-hash/vulnerable/ecdsa_sha1.go', 'test/github/corpus/crypto/weak-signature-hash/vulnerable/pycryptodome_sign.py']) {
  const ctx = parseFile(f, readFileSync(f, 'utf8'))!;
  for (const c of ctx.calls()) if (/sha1|SHA1/.test(c.callee)) console.log(c.callee, JSON.stringify(intentOf(ctx, c.node)));
}
