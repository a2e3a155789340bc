import type { NotificationType } from './catalog.js';
import type { Phase, Severity } from './tables.js';

export interface Link {
  label: string;
  url: string;
}

/** A notification about to be created: what the detectors and the audit mapping produce. */
export interface Draft {
  orgId: string;
  type: NotificationType;
  phase: Phase;
  severity: Severity;
  /**
   * The cause of an incident (`domain:<id>`, `stream:<id>`…). An `alert` with a cause opens an
   * incident (or escalates the open one); a `resolved` draft closes it. Null: a one-off message.
   */
  causeKey: string | null;
  /** How bad an incident is (default 1): an alert for an open incident is sent only when its stage is higher. */
  stage?: number;
  /** How often an open incident is reminded (null: never). */
  remindEveryMs?: number | null;
  title: string;
  facts: Record<string, unknown>;
  fix: string;
  links: Link[];
  /** Unique per notification: a draft whose key exists already creates nothing. */
  dedupKey: string;
  sourceEventId?: string | null;
}
