/**
 * The API's rules, checked before a request leaves (src/workspace/network.ts parseCidr,
 * src/gateway/upstream.ts): a person sees the mistake on the field instead of a round trip.
 */
function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255 && String(Number(p)) === p);
}
function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  try {
    // The URL parser applies the full IPv6 grammar (:: once, eight groups, a trailing IPv4).
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** "1.2.3.4", "10.0.0.0/8", "2001:db8::/32": null when valid, else the API's own words. */
export function cidrProblem(entry: string): string | null {
  const [addr = '', prefix, extra] = entry.trim().split('/');
  const v4 = isIPv4(addr);
  const v6 = !v4 && isIPv6(addr);
  const max = v4 ? 32 : 128;
  const okPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
  if ((!v4 && !v6) || extra !== undefined || !okPrefix)
    return `"${entry.trim()}" is not an IPv4 or IPv6 address or CIDR range; write it like 203.0.113.0/24 or 2001:db8::/32.`;
  return null;
}

export function parseLines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export function urlProblem(value: string): string | null {
  try {
    const u = new URL(value.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    return null;
  } catch {
    return "Give the provider's API base URL with http:// or https://, e.g. https://api.anthropic.com.";
  }
}

/** Allowed models: an exact name or a prefix ending in * ("claude-sonnet-*"). */
export function modelPatternProblem(p: string): string | null {
  if (p.length > 200) return `"${p.slice(0, 40)}…" is longer than 200 characters.`;
  return /^[^*]+\*?$/.test(p) ? null : `"${p}" is a model name, or a prefix ending in one * such as claude-sonnet-*.`;
}
