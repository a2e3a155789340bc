/**
 * `npm run bench`: every benchmark, each printing Palisade beside the raw limit measured in the same run.
 *   npm run bench [audit|domains|scim|sso|gateway|audit-product|drain|db-copy|lockout|content-keys|compliance|github|mixed|audit-designs|audit-concurrency|notifications|console]   one benchmark
 *   BENCH_SMOKE=1 npm run bench                                          every benchmark with tiny sizes (CI: it keeps them runnable)
 * Each exits non-zero on failure, so a broken benchmark stops CI instead of silently ending the run.
 */

/** Tiny sizes for the smoke run; an explicitly set variable wins. */
const SMOKE_SIZES: Record<string, string> = {
  BENCH_EVENTS: '2000',
  BENCH_SINGLE_EVENTS: '200',
  BENCH_DOMAINS: '50',
  BENCH_SCIM_USERS: '60',
  BENCH_SAML_LOGINS: '10',
  BENCH_OIDC_LOGINS: '10',
  BENCH_GATEWAY_REQUESTS: '20',
  BENCH_SEARCH_EVENTS: '3000',
  BENCH_EXPORT_EVENTS: '3000',
  BENCH_SEARCH_RUNS: '3',
  BENCH_DRAIN_EVENTS: '5000',
  BENCH_COPY_EVENTS: '2000',
  BENCH_COPY_CONVERSATIONS: '20',
  BENCH_LOCKOUT_LOGINS: '200',
  BENCH_LOCKOUT_RUNS: '1',
  BENCH_CONTENT_KEY_CONVERSATIONS: '50',
  BENCH_FEED_EVENTS: '3000',
  BENCH_USAGE_REQUESTS: '3000',
  BENCH_MIXED_SECONDS: '2',
  BENCH_MIXED_RATES: '50',
  BENCH_DESIGN_SECONDS: '1',
  BENCH_CONCURRENCY_SECONDS: '1',
  BENCH_CONCURRENCY_WARMUP_SECONDS: '1',
  BENCH_CONSOLE_RUNS: '1',
};
if (process.env.BENCH_SMOKE === '1') for (const [k, v] of Object.entries(SMOKE_SIZES)) process.env[k] ??= v;

// Imported after the sizes are set: each benchmark reads its size when its module loads.
const { benchAuditIngest } = await import('./audit-ingest.js');
const { benchDomainRecheck } = await import('./domain-recheck.js');
const { benchScimSync } = await import('./scim-sync.js');
const { benchSsoSaml } = await import('./sso-saml.js');
const { benchAuditProduct } = await import('./audit-product.js');
const { benchStreamDrain } = await import('./stream-drain.js');
const { benchLockoutGuard } = await import('./lockout-guard.js');
const { benchCompliance } = await import('./compliance.js');

const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite postgres').split(/\s+/).filter(Boolean) as (
  'sqlite' | 'postgres'
)[];
const only = process.argv[2];

console.log(
  `Palisade benchmarks · node ${process.version} · ${dialects.join(', ')}${process.env.BENCH_SMOKE === '1' ? ' · smoke sizes' : ''}`,
);
if (!only || only === 'audit') await benchAuditIngest(dialects);
if (!only || only === 'domains') await benchDomainRecheck(dialects);
if (!only || only === 'scim') await benchScimSync(dialects);
if (!only || only === 'sso') await benchSsoSaml(dialects);
if (!only || only === 'sso') await (await import('./sso-oidc.js')).benchSsoOidc(dialects);
if (!only || only === 'gateway') await (await import('./gateway-overhead.js')).benchGatewayOverhead(dialects);
if (!only || only === 'audit-product') await benchAuditProduct(dialects);
if ((!only && dialects.includes('postgres')) || only === 'db-copy') await (await import('./db-copy.js')).benchDbCopy();
if (!only || only === 'lockout') await benchLockoutGuard(dialects);
if (!only || only === 'content-keys') await (await import('./content-keys.js')).benchContentKeys(dialects);
if (!only || only === 'drain') await benchStreamDrain(dialects);
if (!only || only === 'compliance') await benchCompliance(dialects);
if (!only || only === 'github') await (await import('./github-scan.js')).benchGithub(dialects);
if ((!only && dialects.includes('postgres')) || only === 'mixed')
  await (await import('./mixed-load.js')).benchMixedLoad();
if (!only || only === 'audit-designs') await (await import('./audit-designs.js')).benchAuditDesigns(dialects);
if (!only || only === 'audit-concurrency')
  await (await import('./audit-concurrency.js')).benchAuditConcurrency(dialects);
if (!only || only === 'notifications') await (await import('./notifications.js')).benchNotifications(dialects);
// The console is a browser against one server: it runs once, on SQLite, whatever the dialects.
if ((!only && dialects.includes('sqlite')) || only === 'console') await (await import('./console.js')).benchConsole();
console.log('\nEvery benchmark ran to the end.');
