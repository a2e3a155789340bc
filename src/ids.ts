import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

/**
 * Prefixed, time-sortable identifiers (`org_01h…`): the prefix tells a reader what an id names.
 * Prefixes in use: org usr mem ses tok evt lnk req rmr dom dnt; a domain picks a new 3-letter one.
 */
export function newId(prefix: string, at?: Date): string {
  return `${prefix}_${next(at?.getTime()).toLowerCase()}`;
}
