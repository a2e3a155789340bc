import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

/** Prefixed, time-sortable identifiers: the prefix tells a reader what kind of thing an id names. */
export type IdPrefix = 'org' | 'usr' | 'mem' | 'ses' | 'tok' | 'evt' | 'lnk' | 'req';

export function newId(prefix: IdPrefix, at?: Date): string {
  return `${prefix}_${next(at?.getTime()).toLowerCase()}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return /^[a-z]{3}_[0-9a-z]{26}$/.test(id) && id.startsWith(`${prefix}_`);
}
