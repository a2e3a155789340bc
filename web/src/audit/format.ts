import type { AuditEvent } from './types';

// Dark shades: white text on them passes WCAG AA contrast.
export const OUTCOME_COLOR: Record<string, string> = { success: 'teal.9', failure: 'orange.9', denied: 'red.9' };

export function actorLabel(e: AuditEvent): string {
  return e.actor.email ?? e.actor.id ?? e.actor.type;
}

/** 2026-01-31T10:00:00.123Z → 2026-01-31 10:00:00Z: seconds are what a reader compares. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
