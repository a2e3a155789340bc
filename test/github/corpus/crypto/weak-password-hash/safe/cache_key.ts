import { createHash } from 'node:crypto';

export function cacheKey(url: string, params: Record<string, string>): string {
  return createHash('sha1').update(url + JSON.stringify(params)).digest('hex');
}
