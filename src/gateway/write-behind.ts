import type { Db } from '../db/schema.js';
import { noteIfFault } from '../db/faults.js';

/**
 * Gateway bookkeeping that is not part of any guarantee, written after the response in batches
 * (group commit) instead of on the request path: token usage counters (daily and hourly) and a
 * gateway key's `last_used_at`. Every FLUSH_INTERVAL_MS the pending increments are summed per row
 * and written in one transaction; a graceful stop flushes (src/app.ts, onClose), and so does every
 * reader of these values in this process (usage reports, key lists, compliance exports), so a
 * report never misses a request this process has answered.
 *
 * What is durable before a response is unchanged: the audit event and the stored exchange are
 * written in the request's transaction (src/gateway/proxy.ts). What a crash (kill -9, power loss)
 * can lose is the last interval of counters and last-used times (docs/performance.md).
 */
export const FLUSH_INTERVAL_MS = 25;

interface Counter {
  org_id: string;
  user_id: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

export interface UsageIncrement {
  orgId: string;
  userId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  at: Date;
}

class WriteBehind {
  private daily = new Map<string, Counter & { day: string }>();
  private hourly = new Map<string, Counter & { hour: string }>();
  private touched = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  addUsage(u: UsageIncrement): void {
    const model = u.model.slice(0, 200);
    const iso = u.at.toISOString();
    const day = iso.slice(0, 10);
    const hour = iso.slice(0, 13);
    const base = { org_id: u.orgId, user_id: u.userId, model, requests: 0, input_tokens: 0, output_tokens: 0 };
    const d = this.daily.get(`${u.orgId}\n${u.userId}\n${day}\n${model}`) ?? { ...base, day };
    const h = this.hourly.get(`${u.orgId}\n${u.userId}\n${hour}\n${model}`) ?? { ...base, hour };
    for (const c of [d, h]) {
      c.requests += 1;
      c.input_tokens += u.inputTokens;
      c.output_tokens += u.outputTokens;
    }
    this.daily.set(`${u.orgId}\n${u.userId}\n${day}\n${model}`, d);
    this.hourly.set(`${u.orgId}\n${u.userId}\n${hour}\n${model}`, h);
    this.schedule();
  }

  touchKey(keyId: string, at: string): void {
    const prev = this.touched.get(keyId);
    if (!prev || prev < at) this.touched.set(keyId, at);
    this.schedule();
  }

  /** Writes what is pending; flushes run one at a time, in order. */
  flush(): Promise<void> {
    const next = this.chain.then(() => this.writePending());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((err: unknown) => noteIfFault(this.db, err));
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private async writePending(): Promise<void> {
    if (this.daily.size === 0 && this.hourly.size === 0 && this.touched.size === 0) return;
    const daily = this.daily;
    const hourly = this.hourly;
    const touched = this.touched;
    this.daily = new Map();
    this.hourly = new Map();
    this.touched = new Map();
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const c of daily.values())
          await tx
            .insertInto('gateway_usage')
            .values(c)
            .onConflict((oc) =>
              oc.columns(['org_id', 'user_id', 'day', 'model']).doUpdateSet((eb) => ({
                requests: eb('gateway_usage.requests', '+', c.requests),
                input_tokens: eb('gateway_usage.input_tokens', '+', c.input_tokens),
                output_tokens: eb('gateway_usage.output_tokens', '+', c.output_tokens),
              })),
            )
            .execute();
        for (const c of hourly.values())
          await tx
            .insertInto('gateway_usage_hourly')
            .values(c)
            .onConflict((oc) =>
              oc.columns(['org_id', 'hour', 'user_id', 'model']).doUpdateSet((eb) => ({
                requests: eb('gateway_usage_hourly.requests', '+', c.requests),
                input_tokens: eb('gateway_usage_hourly.input_tokens', '+', c.input_tokens),
                output_tokens: eb('gateway_usage_hourly.output_tokens', '+', c.output_tokens),
              })),
            )
            .execute();
        for (const [id, at] of touched)
          await tx
            .updateTable('gateway_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
      });
    } catch (err) {
      // Not lost on a failed write (storage full, database restarting): merged back and retried.
      for (const [k, c] of daily) this.merge(this.daily, k, c);
      for (const [k, c] of hourly) this.merge(this.hourly, k, c);
      for (const [id, at] of touched) this.touchKey(id, at);
      this.schedule();
      throw err;
    }
  }

  private merge<C extends Counter>(into: Map<string, C>, key: string, c: C): void {
    const cur = into.get(key);
    if (!cur) into.set(key, c);
    else {
      cur.requests += c.requests;
      cur.input_tokens += c.input_tokens;
      cur.output_tokens += c.output_tokens;
    }
  }
}

const BY_DB = new WeakMap<object, WriteBehind>();

function writeBehindOf(db: Db): WriteBehind {
  let w = BY_DB.get(db);
  if (!w) {
    w = new WriteBehind(db);
    BY_DB.set(db, w);
  }
  return w;
}

/** Counts a request's tokens (per organization, user, model; by UTC day and hour), written within FLUSH_INTERVAL_MS. */
export function queueUsage(db: Db, u: UsageIncrement): void {
  writeBehindOf(db).addUsage(u);
}

/** Records that a gateway key was used at `at` (ISO), written within FLUSH_INTERVAL_MS. */
export function queueKeyUse(db: Db, keyId: string, at: string): void {
  writeBehindOf(db).touchKey(keyId, at);
}

/**
 * Writes everything pending for this database now. Readers of usage counters and last-used times
 * call it first (outside any transaction: SQLite has one connection); the app calls it when it
 * closes. Only the database object queues, so a transaction has nothing pending and returns at once.
 */
export async function flushGatewayWrites(db: object): Promise<void> {
  // Also waits for a flush already under way: its rows are not committed yet.
  await BY_DB.get(db)?.flush();
}
