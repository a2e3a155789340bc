/**
 * The same refusals as the API's normalizeDomain (src/domains/normalize.ts), checked before sending so
 * a person sees the reason at once. The API still decides (public suffixes need its list): what it
 * refuses is shown as its own error.
 */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function domainProblem(raw: string): string | null {
  const input = raw.trim();
  if (!input) return 'Enter a domain such as example.com.';
  if (input.length > 300) return 'A domain name has at most 253 characters.';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) || /[/?#]/.test(input))
    return 'This looks like a URL; enter only the domain name, for example example.com (no https://, path or query).';
  if (input.includes('@')) return 'This looks like an email address; enter only the part after the @.';
  if (input.includes('*'))
    return 'Wildcards are not accepted; add the parent domain and turn on "include subdomains" to cover the names under it.';
  const bare = input.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (IPV4.test(bare) || (bare.includes(':') && /^[0-9a-f:.]+$/i.test(bare)))
    return 'IP addresses cannot be verified with DNS TXT records; enter a domain name.';
  if (/\s/.test(input)) return 'A domain name contains no spaces.';
  if (input.includes(':'))
    return 'A domain name contains no port or colon; enter only the name, for example example.com.';
  const noDot = input.endsWith('.') ? input.slice(0, -1) : input;
  if (!noDot || noDot.includes('..') || noDot.startsWith('.'))
    return 'A domain name has no empty labels (two dots in a row, or a leading dot).';
  let ascii: string;
  try {
    // The browser's URL parser converts an internationalized name to punycode, as the API does.
    ascii = new URL(`http://${noDot.toLowerCase()}/`).hostname;
  } catch {
    return 'This is not a valid domain name; check for stray characters.';
  }
  if (ascii.length > 253) return 'A domain name has at most 253 characters.';
  const labels = ascii.split('.');
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined)
    return `The label "${bad}" is not valid; labels are 1 to 63 letters, digits or hyphens and do not start or end with a hyphen.`;
  if (labels.length < 2)
    return 'A single-label name is not a domain an organization can own; enter a full domain such as example.com.';
  if (/^\d+$/.test(labels[labels.length - 1]!)) return 'The last label of a domain name is not all digits.';
  return null;
}
