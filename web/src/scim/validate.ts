import type { RoleMappingInput } from './types';

/**
 * The API's checks of a mapping (src/orgs/role-mapping.ts validateRoleMapping), run as the person
 * types, so the preview is asked only for a mapping the API would accept. Problems by rule index.
 */
export function mappingProblems(m: RoleMappingInput): { prefix: string | null; rules: Record<number, string> } {
  const out: { prefix: string | null; rules: Record<number, string> } = { prefix: null, rules: {} };
  const prefix = m.requiredPrefix?.trim() ?? null;
  if (m.requiredPrefix !== null && !prefix) out.prefix = 'The prefix cannot be only spaces; leave it empty for none.';
  if (m.requiredPrefix !== null && m.requiredPrefix.length > 100) out.prefix = 'At most 100 characters.';
  const seen = new Map<string, number>();
  m.rules.forEach((rule, i) => {
    const group = rule.group.trim();
    const key = group.toLowerCase();
    if (!group) out.rules[i] = 'Give the exact group name your identity provider sends.';
    else if (rule.group.length > 256) out.rules[i] = 'At most 256 characters.';
    else if (prefix && !key.startsWith(prefix.toLowerCase()))
      out.rules[i] = `Does not start with the required prefix "${prefix}": use "${prefix}${group}".`;
    else if (seen.has(key))
      out.rules[i] = `Rule ${seen.get(key)! + 1} is for the same group (names match without regard to case).`;
    if (group) seen.set(key, seen.get(key) ?? i);
  });
  return out;
}

export const hasProblems = (p: ReturnType<typeof mappingProblems>) =>
  p.prefix !== null || Object.keys(p.rules).length > 0;
