import type { FileContext, Language, RawFinding, Severity } from './engine.js';

/** One PR-scan rule: metadata (for SARIF, the check run and the docs) and its check. */
export interface RuleDefinition {
  id: string;
  name: string;
  severity: Severity;
  cwe: string;
  /** One line: what is wrong. */
  short: string;
  /** What to do instead, shown with the finding. */
  help: string;
  languages: readonly Language[];
  check(ctx: FileContext): RawFinding[];
}

/** Intent vocabularies, matched against `words()` output (lower-case words with spaces around). */
export const VOCAB = {
  password:
    / (pass ?words?|passwd|passwds|pwd|pwds|pw|passphrases?|passcodes?|credentials?|creds|pins?|pin ?codes?|user ?secrets?|login ?secrets?) /,
  /** Checking a password against a breach corpus (Have I Been Pwned's k-anonymity range API is SHA-1 by design). */
  breachCheck: / (pwned|hibp|have ?i ?been ?pwned|breach\w*|k ?anonymity|leaked ?passwords?) /,
  legitHash:
    / (e ?tags?|checksums?|check ?sums?|caches?|cache ?keys?|caching|cached|fingerprints?|content ?(ids?|hash(es)?|address\w*|md5)|dedup\w*|deduplicat\w*|file ?hash(es)?|shard\w*|buckets?|partition\w*|object ?ids?|oids?|git ?blobs?|git|gravatar|avatars?|md5sums?|sha1sums?|used ?for ?security|usedforsecurity|non ?crypto\w*|not ?for ?security|cache ?bust\w*|hash ?codes?|hashcode|consistent ?hash\w*|stable ?ids?|digest ?header|s3|etag|manifest|asset ?hash|chunk ?ids?|row ?hash|cdn) /,
  signing:
    / (sign|signs|signed|signer|signing|signature|signatures|sig|sigs|verify|verifies|verified|verifier|verification|hmac|mac|tamper\w*|jwt|jws|certificates?|cert|certs|license ?keys?|authenticat\w*|digital) /,
  token:
    / (tokens?|secrets?|pass ?words?|passwd|pwd|salts?|nonces?|ivs?|otps?|one ?time|session ?(ids?|keys?|tokens?)|sessions?|sid|csrf|xsrf|api ?keys?|secret ?keys?|private ?keys?|access ?keys?|signing ?keys?|encryption ?keys?|crypto|key ?material|auth|authn|authz|authenticat\w*|authoriz\w*|reset ?(tokens?|codes?|links?)|password ?reset|verification ?codes?|verify ?codes?|confirmation ?codes?|invite ?codes?|invitations?|activation|magic ?links?|recovery ?codes?|backup ?codes?|pins?|2fa|mfa|totp|hotp|keygen|generate ?keys?|gen ?keys?|random ?keys?|coupons?|vouchers?|secure ?ids?|unguessable|entropy) /,
  legitRandom:
    / (jitter|backoff|retry|retries|delay|sleep|timeout|shuffle|colou?rs?|animat\w*|sample|sampling|probability|chance|percent|mock|fake|demo|simulat\w*|game|dice|noise|position|offset|width|height|opacity|hue|weight|load ?balanc\w*|pick ?server|placeholder|lorem) /,
  randomSource:
    /(randomBytes|randomFill|getRandomValues|randomUUID|urandom|token_bytes|token_hex|get_random_bytes|secrets\.|SystemRandom|rand\.Read|rand\.Reader|crypto\/rand|nextBytes|SecureRandom|generateSeed|random_bytes|os\.getrandom|Random\.new|RAND_bytes)/,
};
