/** `npm run bench`: every benchmark, each printing Palisade beside the raw limit measured in the same run. */
import { benchAuditIngest } from './audit-ingest.js';
import { benchAuditProduct } from './audit-product.js';

const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite postgres').split(/\s+/).filter(Boolean) as ('sqlite' | 'postgres')[];
const only = process.argv[2];

console.log(`Palisade benchmarks · node ${process.version} · ${dialects.join(', ')}`);
if (!only || only === 'audit') await benchAuditIngest(dialects);
if (!only || only === 'audit-product') await benchAuditProduct(dialects);
