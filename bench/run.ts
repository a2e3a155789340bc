/** `npm run bench`: every benchmark, each printing Palisade beside the raw limit measured in the same run. */
import { benchAuditIngest } from './audit-ingest.js';
import { benchDomainRecheck } from './domain-recheck.js';
import { benchScimSync } from './scim-sync.js';
import { benchSsoSaml } from './sso-saml.js';
import { benchAuditProduct } from './audit-product.js';

const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite postgres').split(/\s+/).filter(Boolean) as ('sqlite' | 'postgres')[];
const only = process.argv[2];

console.log(`Palisade benchmarks · node ${process.version} · ${dialects.join(', ')}`);
if (!only || only === 'audit') await benchAuditIngest(dialects);
if (!only || only === 'domains') await benchDomainRecheck(dialects);
if (!only || only === 'scim') await benchScimSync(dialects);
if (!only || only === 'sso') await benchSsoSaml(dialects);
if (!only || only === 'gateway') await (await import('./gateway-overhead.js')).benchGatewayOverhead(dialects);
if (!only || only === 'audit-product') await benchAuditProduct(dialects);
if (!only || only === 'github') await (await import('./github-scan.js')).benchGithub(dialects);
