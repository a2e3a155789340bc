import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * Configuration comes from environment variables, optionally seeded from a JSON file named by
 * PALISADE_CONFIG_FILE (environment wins). A bad value stops start-up with a message that names
 * the variable and what it accepts.
 */
export interface PalisadeConfig {
  host: string;
  port: number;
  publicUrl: string;
  databaseUrl: string;
  /** Redis for the limits (throttles, rate limits) instead of the database; empty: the database holds them. */
  redisUrl: string;
  /** Prefix of every key Palisade writes in Redis (several installations can share one server). */
  redisKeyPrefix: string;
  /**
   * How audit events join their organization's hash chain: `inline` in the writing transaction (under
   * the chain-head row lock), `batched` appended and sealed by a group sealer before the response,
   * `background` appended and sealed within a second (src/audit/seal.ts); `auto` is background on
   * PostgreSQL and inline on SQLite.
   */
  auditSealing: 'auto' | 'inline' | 'batched' | 'background';
  /** PostgreSQL: prepare Palisade's write statements once per connection (src/db/pg-driver.ts). */
  pgPreparedStatements: boolean;
  /** PostgreSQL: connections each process keeps at most. */
  pgPoolSize: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  trustProxy: boolean;
  sessionTtlHours: number;
  linkTtlHours: number;
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginThrottleWindowMinutes: number;
  /** GET /api/v1/login/discover requests allowed per client network (IPv4 address, IPv6 /64) per window. */
  discoverMaxRequestsPerIp: number;
  discoverWindowSeconds: number;
  /** Manual verification checks (POST …/domains/:domainId/verify) allowed per domain per window. */
  domainVerifyMaxAttemptsPerDomain: number;
  domainVerifyWindowSeconds: number;
  orgCreation: 'cli_only' | 'any_user';
  passwordScryptLogN: number;
  metricsEnabled: boolean;
  /** Resolvers used for domain verification, `host` or `host:port`; empty = the system's resolvers. */
  dnsServers: string[];
  dnsTimeoutMs: number;
  domainRecordPrefix: string;
  domainRecheckHours: number;
  domainGraceDays: number;
  scimSyncLogRetentionDays: number;
  ssoTestLoginMaxAgeDays: number;
  /** Longest SAML assertion lifetime accepted (IssueInstant to NotOnOrAfter); longer-lived assertions are refused. */
  samlMaxAssertionLifetimeMinutes: number;
  /** Least time between two unscheduled re-discoveries of an OIDC provider (unknown signing key, new algorithm). */
  oidcRediscoverMinSeconds: number;
  /** Serve the built-in test identity provider (src/test-idp/): anyone who reaches it can assert any address, so off unless turned on. */
  testIdp: boolean;
  masterKey: string;
  masterKeyFile: string;
  kekProvider: 'local' | 'pkcs11';
  pkcs11Module: string;
  pkcs11TokenLabel: string;
  pkcs11Pin: string;
  pkcs11KeyLabel: string;
  uploadMaxBytes: number;
  defaultRetentionDays: number;
  auditRetentionDays: number;
  auditCheckpointMinutes: number;
  auditStreamIntervalSeconds: number;
  /** A destination with events waiting and no delivery for this long is `stalled`. */
  auditStreamStallSeconds: number;
  auditStreamsAllowHttp: boolean;
  auditSigningKeyFile: string;
  /** CIDRs outbound connections may reach even when the default policy denies them (see src/net/outbound.ts). */
  outboundAllowCidrs: string[];
  /** Also deny private ranges (RFC 1918, 100.64/10, IPv6 ULA) for outbound connections. */
  outboundDenyPrivate: boolean;
  /** smtp://[user:pass@]host:port or smtps://…; empty: no email (invitations of new addresses are refused, see docs). */
  smtpUrl: string;
  /** The From address of Palisade's mail, e.g. "Palisade <palisade@example.com>". */
  smtpFrom: string;
  /** Refuse to send over a connection that did not upgrade to TLS (STARTTLS). */
  smtpRequireTls: boolean;
  /** Attempts before a message is dead-lettered (backoff from 30 s, doubling, capped at 2 hours). */
  emailMaxAttempts: number;
  /** Attempts per notification delivery (Slack, Teams, webhook) before it is dead-lettered. */
  notificationMaxAttempts: number;
  /** Allow plain http:// notification webhooks (tests and labs only). */
  notificationWebhooksAllowHttp: boolean;
  /** SCIM requests that failed within one hour, per directory, from which admins are notified. */
  notificationScimErrorsPerHour: number;
  /** Bad tokens (API tokens, SCIM tokens, gateway keys, one-time links) allowed per client network per window before 429. */
  badTokenMaxPerIp: number;
  badTokenWindowSeconds: number;
  /** PEM certificate chain and private key: Palisade serves HTTPS itself (TLS 1.2+); reloaded on SIGHUP. */
  tlsCertFile: string;
  tlsKeyFile: string;
  shutdownDrainDelaySeconds: number;
  shutdownGraceSeconds: number;
  /** Password reset requests allowed per client network per hour (429 beyond). */
  passwordResetMaxPerIp: number;
  /** Reset emails sent per address per hour; requests beyond are answered the same way and send nothing. */
  passwordResetMaxPerAddress: number;
  /** Compliance API requests allowed per key per minute (a key may set a lower or higher limit of its own). */
  complianceRateLimitPerMinute: number;
  /**
   * How old an audit event must be before the Compliance API activity feed serves it. A transaction
   * that took its timestamp earlier may still be committing; serving only settled events keeps a
   * cursor from ever skipping one (no gaps).
   */
  complianceFeedDelaySeconds: number;
  /** Where Palisade keeps its bare clones of allowlisted GitHub repositories (read with git, never served as files). */
  githubCacheDir: string;
  /** Allow http:// GitHub API base URLs (tests and labs only; the App's tokens travel over HTTPS otherwise). */
  githubAllowHttp: boolean;
  /** Largest file the repository tools return and the scanners read, in bytes. */
  githubMaxFileBytes: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Configuration error in ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

interface Spec<T> {
  variable: string;
  default: T;
  parse: (raw: string, variable: string) => T;
  describe: string;
}

const integer =
  (min: number, max: number) =>
  (raw: string, variable: string): number => {
    if (!/^-?\d+$/.test(raw.trim()))
      throw new ConfigError(variable, `"${raw}" is not a whole number; use an integer from ${min} to ${max}.`);
    const n = Number(raw);
    if (n < min || n > max)
      throw new ConfigError(variable, `${n} is out of range; use an integer from ${min} to ${max}.`);
    return n;
  };

const oneOf =
  <T extends string>(...allowed: T[]) =>
  (raw: string, variable: string): T => {
    const v = raw.trim().toLowerCase();
    if (!(allowed as string[]).includes(v))
      throw new ConfigError(variable, `"${raw}" is not allowed; use one of: ${allowed.join(', ')}.`);
    return v as T;
  };

const bool = (raw: string, variable: string): boolean => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(variable, `"${raw}" is not a boolean; use true or false.`);
};

const url = (raw: string, variable: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(variable, `"${raw}" is not a URL; use for example https://palisade.example.com`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ConfigError(variable, `use an http:// or https:// URL, not ${parsed.protocol}`);
  return raw.replace(/\/+$/, '');
};

const redisUrl = (raw: string, variable: string): string => {
  const v = raw.trim();
  if (v === '') return '';
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(
      variable,
      'is not a URL; use redis://host:6379, redis://:password@host:6379/0 or rediss://host:6380 (TLS).',
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new ConfigError(variable, `use a redis:// or rediss:// URL, not ${parsed.protocol}`);
  return v;
};

const databaseUrl = (raw: string, variable: string): string => {
  const v = raw.trim();
  if (/^postgres(ql)?:\/\//.test(v) || v.startsWith('sqlite:') || v === ':memory:') return v;
  throw new ConfigError(
    variable,
    `"${v}" is not supported; use sqlite:./data/palisade.db (embedded, the default) or postgres://user@host:5432/db.`,
  );
};

const dnsServers = (raw: string, variable: string): string[] => {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) {
    // 1.2.3.4, 1.2.3.4:5353, ::1, [::1]:5353 — what node:dns Resolver#setServers accepts.
    if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)$/.test(s)) {
      throw new ConfigError(
        variable,
        `"${s}" is not a resolver address; use IP or IP:port, comma-separated (for example 127.0.0.1:5353,[::1]:53).`,
      );
    }
  }
  return list;
};

const dnsLabel = (raw: string, variable: string): string => {
  const v = raw.trim().toLowerCase().replace(/\.+$/, '');
  if (!/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(v)) {
    throw new ConfigError(
      variable,
      `"${raw}" is not a DNS name prefix; use letters, digits, hyphens and underscores, for example _palisade-challenge.`,
    );
  }
  return v;
};

const smtpUrl = (raw: string, variable: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new ConfigError(
      variable,
      `"${raw.replace(/\/\/[^@/]*@/, '//…@')}" is not a URL; use smtp://mail.example.com:587 (STARTTLS), smtps://mail.example.com:465 (TLS) or smtp://user:password@host:port.`,
    );
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:')
    throw new ConfigError(variable, `use an smtp:// or smtps:// URL, not ${parsed.protocol}`);
  if (!parsed.hostname) throw new ConfigError(variable, 'the URL names no host; use smtp://mail.example.com:587.');
  return raw.trim();
};

const fromAddress = (raw: string, variable: string): string => {
  const v = raw.trim();
  const addr = /<([^<>]+)>\s*$/.exec(v)?.[1] ?? v;
  if (!/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(addr))
    throw new ConfigError(
      variable,
      `"${v}" is not a sender address; use palisade@example.com or "Palisade <palisade@example.com>".`,
    );
  return v;
};

const cidrList = (raw: string, variable: string): string[] => {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.map((entry) => {
    const [ip = '', prefix, extra] = entry.split('/');
    const family = isIP(ip);
    const max = family === 4 ? 32 : 128;
    if (
      !family ||
      extra !== undefined ||
      (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max))
    ) {
      throw new ConfigError(
        variable,
        `"${entry}" is not an IP address or CIDR; use a comma-separated list such as 127.0.0.1/32,10.20.0.0/16,::1/128.`,
      );
    }
    return `${ip.toLowerCase()}/${prefix ?? max}`;
  });
};

export const CONFIG_SPEC = {
  host: {
    variable: 'PALISADE_HOST',
    default: '127.0.0.1',
    parse: (r: string) => r.trim(),
    describe: 'Address to listen on.',
  },
  port: {
    variable: 'PALISADE_PORT',
    default: 8080,
    parse: integer(0, 65535),
    describe: 'TCP port to listen on (0 picks a free one).',
  },
  publicUrl: {
    variable: 'PALISADE_PUBLIC_URL',
    default: '',
    parse: url,
    describe: 'URL people use to reach Palisade; used in links. Defaults to http://HOST:PORT.',
  },
  databaseUrl: {
    variable: 'DATABASE_URL',
    default: 'sqlite:./data/palisade.db',
    parse: databaseUrl,
    describe: 'sqlite:PATH (embedded default) or postgres://… for scale.',
  },
  redisUrl: {
    variable: 'PALISADE_REDIS_URL',
    default: '',
    parse: redisUrl,
    describe:
      'Optional. redis://host:6379 (or rediss:// for TLS): every limit — sign-in throttles, login discovery, domain checks, bad tokens, password resets, Compliance API keys — counts in Redis instead of the database, shared by every instance that uses the same server and prefix. Empty: the database holds them (shared across instances too). If Redis cannot be reached, limited requests are refused with 503 limits_unavailable rather than let through unlimited.',
  },
  redisKeyPrefix: {
    variable: 'PALISADE_REDIS_KEY_PREFIX',
    default: 'palisade:',
    parse: (raw: string) => raw,
    describe: 'Prefix of the keys Palisade writes in Redis, so several installations can share one server.',
  },
  auditSealing: {
    variable: 'PALISADE_AUDIT_SEALING',
    default: 'auto',
    parse: oneOf('auto', 'inline', 'batched', 'background'),
    describe:
      'How audit events are linked into their organization\'s tamper-evident chain. `background`: a request appends its events in its own transaction (durable with its change) and is answered at commit; a sealer links them in order, many at a time, within a second — and before any search, export, verification or stream reads them; writers of one organization never wait on each other, on one instance or several (docs/audit-log.md, "Sealing"). `batched`: the same, but the response waits until its events are sealed. `inline`: each transaction links its own events, holding the organization\'s chain head until it commits. `auto` (default): background on PostgreSQL, inline on SQLite (where a write transaction holds the whole database anyway, so batching gains nothing).',
  },
  pgPreparedStatements: {
    variable: 'PALISADE_PG_PREPARED_STATEMENTS',
    default: true,
    parse: bool,
    describe:
      'PostgreSQL only. `true` (default): each connection prepares the INSERT, UPDATE and DELETE statements Palisade sends (without RETURNING) once and then only executes them, which saves the server parsing and planning them again on every request. Set `false` behind a pooler that hands one server connection to several clients between transactions and does not track prepared statements (PgBouncer in transaction mode before 1.21, or with max_prepared_statements = 0).',
  },
  pgPoolSize: {
    variable: 'PALISADE_PG_POOL_SIZE',
    default: 10,
    parse: integer(1, 500),
    describe:
      'PostgreSQL only. Connections each Palisade process keeps at most (`serve --workers N` runs N processes, each with its own pool; the sealer lease and the cache listener take one more each). Size it so that processes × (pool + 2) stays under the server\'s max_connections with room for administration; on a small machine fewer connections per process can be faster (docs/operations.md, "Sizing").',
  },
  logLevel: {
    variable: 'PALISADE_LOG_LEVEL',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    describe: 'pino log level.',
  },
  trustProxy: {
    variable: 'PALISADE_TRUST_PROXY',
    default: false,
    parse: bool,
    describe: 'Trust X-Forwarded-* headers (only behind your own reverse proxy).',
  },
  sessionTtlHours: {
    variable: 'PALISADE_SESSION_TTL_HOURS',
    default: 12,
    parse: integer(1, 24 * 30),
    describe: 'Lifetime of a browser session.',
  },
  linkTtlHours: {
    variable: 'PALISADE_LINK_TTL_HOURS',
    default: 72,
    parse: integer(1, 24 * 30),
    describe: 'Lifetime of one-time setup and invitation links.',
  },
  loginMaxFailuresPerAccount: {
    variable: 'PALISADE_LOGIN_MAX_FAILURES_PER_ACCOUNT',
    default: 5,
    parse: integer(1, 1000),
    describe: 'Failed logins allowed per account per window.',
  },
  loginMaxFailuresPerIp: {
    variable: 'PALISADE_LOGIN_MAX_FAILURES_PER_IP',
    default: 20,
    parse: integer(1, 100000),
    describe: 'Failed logins allowed per client IP per window.',
  },
  loginThrottleWindowMinutes: {
    variable: 'PALISADE_LOGIN_THROTTLE_WINDOW_MINUTES',
    default: 15,
    parse: integer(1, 24 * 60),
    describe: 'Length of the login throttle window.',
  },
  discoverMaxRequestsPerIp: {
    variable: 'PALISADE_DISCOVER_MAX_REQUESTS_PER_IP',
    default: 30,
    parse: integer(1, 1_000_000),
    describe:
      'Login discovery lookups (GET /api/v1/login/discover, unauthenticated) allowed per client address (IPv6: per /64) per window; more answer 429.',
  },
  discoverWindowSeconds: {
    variable: 'PALISADE_DISCOVER_WINDOW_SECONDS',
    default: 60,
    parse: integer(1, 3600),
    describe: 'Length of the login discovery rate-limit window.',
  },
  domainVerifyMaxAttemptsPerDomain: {
    variable: 'PALISADE_DOMAIN_VERIFY_MAX_ATTEMPTS_PER_DOMAIN',
    default: 10,
    parse: integer(1, 100_000),
    describe:
      'Manual domain verification checks (POST …/domains/{domainId}/verify) allowed per domain per window; more answer 429. The scheduled re-check is not counted.',
  },
  domainVerifyWindowSeconds: {
    variable: 'PALISADE_DOMAIN_VERIFY_WINDOW_SECONDS',
    default: 60,
    parse: integer(1, 3600),
    describe: 'Length of the domain verification rate-limit window.',
  },
  orgCreation: {
    variable: 'PALISADE_ORG_CREATION',
    default: 'cli_only',
    parse: oneOf('cli_only', 'any_user'),
    describe: 'Who may create top-level organizations through the API.',
  },
  passwordScryptLogN: {
    variable: 'PALISADE_PASSWORD_SCRYPT_LOG_N',
    default: 17,
    parse: integer(10, 20),
    describe:
      'scrypt cost as log2(N) for new password hashes (17 = 128 MiB, the OWASP recommendation; lower only for tests).',
  },
  metricsEnabled: {
    variable: 'PALISADE_METRICS',
    default: true,
    parse: bool,
    describe: 'Serve Prometheus metrics at /metrics.',
  },
  dnsServers: {
    variable: 'PALISADE_DNS_SERVERS',
    default: [] as string[],
    parse: dnsServers,
    describe:
      'Comma-separated DNS resolvers (host or host:port, IPv6 as [addr]:port) used to verify domains; empty uses the system resolvers.',
  },
  dnsTimeoutMs: {
    variable: 'PALISADE_DNS_TIMEOUT_MS',
    default: 5000,
    parse: integer(100, 60000),
    describe: 'How long one DNS query may take before a domain check reports a DNS-side timeout.',
  },
  domainRecordPrefix: {
    variable: 'PALISADE_DOMAIN_RECORD_PREFIX',
    default: '_palisade-challenge',
    parse: dnsLabel,
    describe: 'Label in front of the domain for the verification TXT record (_palisade-challenge.example.com).',
  },
  domainRecheckHours: {
    variable: 'PALISADE_DOMAIN_RECHECK_HOURS',
    default: 24,
    parse: integer(1, 24 * 30),
    describe: 'How often verified domains are checked again.',
  },
  domainGraceDays: {
    variable: 'PALISADE_DOMAIN_GRACE_DAYS',
    default: 14,
    parse: integer(1, 365),
    describe: 'How long a domain whose record disappeared stays usable (state failing) before it expires.',
  },
  scimSyncLogRetentionDays: {
    variable: 'PALISADE_SCIM_SYNC_LOG_RETENTION_DAYS',
    default: 90,
    parse: integer(1, 3650),
    describe: 'Days SCIM sync-log entries are kept (the audit log keeps the security events longer).',
  },
  ssoTestLoginMaxAgeDays: {
    variable: 'PALISADE_SSO_TEST_LOGIN_MAX_AGE_DAYS',
    default: 14,
    parse: integer(1, 365),
    describe: 'SSO can be enforced only after an admin test login through the connection within this many days.',
  },
  samlMaxAssertionLifetimeMinutes: {
    variable: 'PALISADE_SAML_MAX_ASSERTION_LIFETIME_MINUTES',
    default: 120,
    parse: integer(1, 24 * 60),
    describe:
      'Longest lifetime (IssueInstant to NotOnOrAfter) of a SAML assertion Palisade accepts; identity providers issue them for minutes to an hour. Longer-lived ones are refused (saml_assertion_lifetime_too_long).',
  },
  testIdp: {
    variable: 'PALISADE_TEST_IDP',
    default: false,
    parse: bool,
    describe:
      'Serve the built-in test identity provider (SAML and OIDC, under /test-idp/) so admins can try single sign-on, test logins and enforcement without a real IdP. Its sign-in form accepts any address typed into it, so it is off unless turned on; never turn it on for an installation people rely on. While off, its pages answer 404 test_idp_disabled and connections to it neither sign anyone in nor can be enforced (see docs/sso-test-idp.md).',
  },
  oidcRediscoverMinSeconds: {
    variable: 'PALISADE_OIDC_REDISCOVER_MIN_SECONDS',
    default: 60,
    parse: integer(1, 3600),
    describe:
      "When an ID token names a signing key or algorithm Palisade has not seen, the provider's discovery document and JWKS are fetched again, at most once per connection per this many seconds.",
  },
  masterKey: {
    variable: 'PALISADE_MASTER_KEY',
    default: '',
    parse: (r: string) => r.trim(),
    describe: 'Local key-encryption key: base64 of 32 bytes, or "id:base64,id:base64" (first is current) for rotation.',
  },
  masterKeyFile: {
    variable: 'PALISADE_MASTER_KEY_FILE',
    default: '',
    parse: (r: string) => r.trim(),
    describe:
      'File holding the local master key (same format as PALISADE_MASTER_KEY). Embedded SQLite generates DATA_DIR/master.key when neither is set.',
  },
  kekProvider: {
    variable: 'PALISADE_KEK_PROVIDER',
    default: 'local',
    parse: oneOf('local', 'pkcs11'),
    describe: 'Who wraps data keys: the local keyring or a PKCS#11 HSM.',
  },
  pkcs11Module: {
    variable: 'PALISADE_PKCS11_MODULE',
    default: '/usr/lib/softhsm/libsofthsm2.so',
    parse: (r: string) => r.trim(),
    describe: 'Path of the PKCS#11 library.',
  },
  pkcs11TokenLabel: {
    variable: 'PALISADE_PKCS11_TOKEN_LABEL',
    default: '',
    parse: (r: string) => r.trim(),
    describe: 'Label of the PKCS#11 token holding the key-encryption key.',
  },
  pkcs11Pin: {
    variable: 'PALISADE_PKCS11_PIN',
    default: '',
    parse: (r: string) => r,
    describe: 'User PIN of that token.',
  },
  pkcs11KeyLabel: {
    variable: 'PALISADE_PKCS11_KEY_LABEL',
    default: 'palisade-kek',
    parse: (r: string) => r.trim(),
    describe: 'Label of the AES-256 key-encryption key; "a,b" names several, the first is current.',
  },
  uploadMaxBytes: {
    variable: 'PALISADE_UPLOAD_MAX_BYTES',
    default: 10 * 1024 * 1024,
    parse: integer(1, 1024 * 1024 * 1024),
    describe: 'Largest file upload accepted.',
  },
  defaultRetentionDays: {
    variable: 'PALISADE_DEFAULT_RETENTION_DAYS',
    default: 90,
    parse: integer(0, 36500),
    describe: 'Retention of workspace content for organizations that set none (0 keeps nothing).',
  },
  auditRetentionDays: {
    variable: 'PALISADE_AUDIT_RETENTION_DAYS',
    default: 30,
    parse: integer(1, 36_500),
    describe: 'Default days to keep audit events for organizations that did not choose (they can choose "forever").',
  },
  auditCheckpointMinutes: {
    variable: 'PALISADE_AUDIT_CHECKPOINT_MINUTES',
    default: 60,
    parse: integer(1, 24 * 60),
    describe: "How often each organization's audit chain gets a signed checkpoint.",
  },
  auditSigningKeyFile: {
    variable: 'PALISADE_AUDIT_SIGNING_KEY_FILE',
    default: '',
    parse: (r: string) => r.trim(),
    describe:
      'Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints, kept outside the database; unset: a key is generated and stored in the database.',
  },
  auditStreamsAllowHttp: {
    variable: 'PALISADE_AUDIT_STREAMS_ALLOW_HTTP',
    default: false,
    parse: bool,
    describe: 'Allow plain http:// SIEM destinations (tests and labs only; events leave over HTTPS otherwise).',
  },
  auditStreamIntervalSeconds: {
    variable: 'PALISADE_AUDIT_STREAM_INTERVAL_SECONDS',
    default: 5,
    parse: integer(1, 3600),
    describe: 'How often SIEM stream delivery runs.',
  },
  auditStreamStallSeconds: {
    variable: 'PALISADE_AUDIT_STREAM_STALL_SECONDS',
    default: 60,
    parse: integer(10, 86_400),
    describe:
      'A SIEM destination with events waiting and nothing delivered for this long is reported stalled (health, /readyz, metrics), with since when and why.',
  },
  outboundAllowCidrs: {
    variable: 'PALISADE_OUTBOUND_ALLOW_CIDRS',
    default: [] as string[],
    parse: cidrList,
    describe:
      'Comma-separated CIDRs (or single IPs) that SIEM streams, SSO metadata/discovery and the model gateway may connect to even though the default policy denies them (loopback, link-local, …), e.g. 127.0.0.1/32 for a local syslog.',
  },
  smtpUrl: {
    variable: 'PALISADE_SMTP_URL',
    default: '',
    parse: smtpUrl,
    describe:
      'Where Palisade sends mail: smtp://host:587 (STARTTLS when offered), smtps://host:465, credentials as smtp://user:password@host:587. Empty: no email; invitations of people without an account are refused until it is set.',
  },
  smtpFrom: {
    variable: 'PALISADE_SMTP_FROM',
    default: '',
    parse: fromAddress,
    describe: 'Sender of Palisade\'s mail, e.g. "Palisade <palisade@example.com>". Required with PALISADE_SMTP_URL.',
  },
  smtpRequireTls: {
    variable: 'PALISADE_SMTP_REQUIRE_TLS',
    default: false,
    parse: bool,
    describe:
      'Refuse to send unless the SMTP connection is encrypted (STARTTLS or smtps://). Links in mail are credentials: turn this on unless the MTA is on this host.',
  },
  notificationMaxAttempts: {
    variable: 'PALISADE_NOTIFICATION_MAX_ATTEMPTS',
    default: 10,
    parse: integer(1, 100),
    describe:
      'Delivery attempts per notification to a Slack, Teams or webhook channel before it is dead-lettered (retries back off from 30 seconds, doubling, up to 1 hour).',
  },
  notificationWebhooksAllowHttp: {
    variable: 'PALISADE_NOTIFICATION_WEBHOOKS_ALLOW_HTTP',
    default: false,
    parse: bool,
    describe:
      'Allow plain http:// notification webhooks (tests and labs only; notifications leave over HTTPS otherwise).',
  },
  notificationScimErrorsPerHour: {
    variable: 'PALISADE_NOTIFICATION_SCIM_ERRORS_PER_HOUR',
    default: 10,
    parse: integer(1, 1_000_000),
    describe:
      'Failed SCIM requests within one hour, per directory, from which admins are notified (once per directory per hour).',
  },
  emailMaxAttempts: {
    variable: 'PALISADE_EMAIL_MAX_ATTEMPTS',
    default: 10,
    parse: integer(1, 100),
    describe:
      'Delivery attempts per message before it is dead-lettered (retries back off from 30 seconds, doubling, up to 2 hours).',
  },
  badTokenMaxPerIp: {
    variable: 'PALISADE_BAD_TOKEN_MAX_PER_IP',
    default: 20,
    parse: integer(1, 1_000_000),
    describe:
      'Invalid API tokens, SCIM tokens, gateway keys and one-time links accepted per client address (IPv6: per /64) per window before 429.',
  },
  badTokenWindowSeconds: {
    variable: 'PALISADE_BAD_TOKEN_WINDOW_SECONDS',
    default: 300,
    parse: integer(1, 86_400),
    describe: 'Length of the bad-token throttle window.',
  },
  tlsCertFile: {
    variable: 'PALISADE_TLS_CERT_FILE',
    default: '',
    parse: (r: string) => r.trim(),
    describe:
      'PEM certificate (with its chain) to serve HTTPS without a reverse proxy; set with PALISADE_TLS_KEY_FILE. TLS 1.2 and later; `kill -HUP` reloads both files without dropping connections.',
  },
  tlsKeyFile: {
    variable: 'PALISADE_TLS_KEY_FILE',
    default: '',
    parse: (r: string) => r.trim(),
    describe: 'PEM private key of PALISADE_TLS_CERT_FILE.',
  },
  shutdownDrainDelaySeconds: {
    variable: 'PALISADE_SHUTDOWN_DRAIN_DELAY_SECONDS',
    default: 0,
    parse: integer(0, 300),
    describe:
      "On SIGTERM, how long an instance keeps accepting new connections while /readyz already answers 503, so a load balancer that polls readiness stops sending before the listener closes (set it to the balancer's check interval × its unhealthy threshold).",
  },
  shutdownGraceSeconds: {
    variable: 'PALISADE_SHUTDOWN_GRACE_SECONDS',
    default: 30,
    parse: integer(1, 3600),
    describe:
      'On SIGTERM, how long requests and model streams in flight may take to finish after the listener closes; connections still open then are cut and the process exits.',
  },
  passwordResetMaxPerIp: {
    variable: 'PALISADE_PASSWORD_RESET_MAX_PER_IP',
    default: 20,
    parse: integer(1, 1_000_000),
    describe: 'Password reset requests accepted per client address per hour before 429.',
  },
  passwordResetMaxPerAddress: {
    variable: 'PALISADE_PASSWORD_RESET_MAX_PER_ADDRESS',
    default: 3,
    parse: integer(1, 1000),
    describe: 'Reset emails sent per email address per hour; further requests get the same answer and send nothing.',
  },
  complianceRateLimitPerMinute: {
    variable: 'PALISADE_COMPLIANCE_RATE_LIMIT_PER_MINUTE',
    default: 600,
    parse: integer(1, 1_000_000),
    describe:
      'Compliance API requests allowed per compliance key per minute (sliding window) unless the key sets its own limit; more answer 429 with Retry-After.',
  },
  complianceFeedDelaySeconds: {
    variable: 'PALISADE_COMPLIANCE_FEED_DELAY_SECONDS',
    default: 10,
    parse: integer(0, 3600),
    describe:
      'Age an audit event must reach before the Compliance API activity feed serves it, so that an event whose transaction was still committing is never skipped by a cursor. 0 serves events at once (safe on SQLite, whose writers run one at a time).',
  },
  outboundDenyPrivate: {
    variable: 'PALISADE_OUTBOUND_DENY_PRIVATE',
    default: false,
    parse: bool,
    describe:
      'Also refuse outbound connections to private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); allowed by default because self-hosted SIEMs and IdPs usually live there.',
  },
  githubCacheDir: {
    variable: 'PALISADE_GITHUB_CACHE_DIR',
    default: './data/github',
    parse: (r: string) => r.trim(),
    describe:
      'Folder for the bare git clones of allowlisted GitHub repositories (only Palisade reads them; the assistant reaches them through the repository tools).',
  },
  githubAllowHttp: {
    variable: 'PALISADE_GITHUB_ALLOW_HTTP',
    default: false,
    parse: bool,
    describe: 'Allow an http:// GitHub API base URL (tests and labs only; App tokens travel over HTTPS otherwise).',
  },
  githubMaxFileBytes: {
    variable: 'PALISADE_GITHUB_MAX_FILE_BYTES',
    default: 1024 * 1024,
    parse: integer(1024, 100 * 1024 * 1024),
    describe: 'Largest repository file the tools return and the scanners read; larger files are listed but not read.',
  },
} satisfies { [K in keyof PalisadeConfig]: Spec<PalisadeConfig[K]> };

function readConfigFile(path: string): Env {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('PALISADE_CONFIG_FILE', `cannot read ${path} as JSON (${(err as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('PALISADE_CONFIG_FILE', `${path} must hold a JSON object of VARIABLE: value pairs.`);
  }
  const known = new Set(Object.values(CONFIG_SPEC).map((s) => s.variable));
  const out: Env = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k))
      throw new ConfigError(
        'PALISADE_CONFIG_FILE',
        `${path} names unknown setting ${k}; known settings: ${[...known].join(', ')}.`,
      );
    out[k] = String(v);
  }
  return out;
}

export function loadConfig(env: Env = process.env, overrides: Partial<PalisadeConfig> = {}): PalisadeConfig {
  const fileEnv = env.PALISADE_CONFIG_FILE ? readConfigFile(env.PALISADE_CONFIG_FILE) : {};
  const merged: Env = { ...fileEnv, ...env };
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SPEC) as [keyof PalisadeConfig, Spec<unknown>][]) {
    const raw = merged[spec.variable];
    out[key] = raw === undefined || raw === '' ? spec.default : spec.parse(raw, spec.variable);
  }
  const config = { ...(out as unknown as PalisadeConfig), ...overrides };
  if (Boolean(config.tlsCertFile) !== Boolean(config.tlsKeyFile))
    throw new ConfigError(
      config.tlsCertFile ? 'PALISADE_TLS_KEY_FILE' : 'PALISADE_TLS_CERT_FILE',
      'set both PALISADE_TLS_CERT_FILE and PALISADE_TLS_KEY_FILE to serve HTTPS, or neither.',
    );
  if (!config.publicUrl && config.tlsCertFile)
    config.publicUrl = `https://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  if (config.smtpUrl && !config.smtpFrom)
    throw new ConfigError(
      'PALISADE_SMTP_FROM',
      'is required when PALISADE_SMTP_URL is set; use for example "Palisade <palisade@example.com>".',
    );
  if (!config.publicUrl)
    config.publicUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  return config;
}
