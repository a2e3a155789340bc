import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds a lease, written so that another process can tell whether that holder still exists.
 *
 * A lease row names its holder as `host:pid:random;boot=…,ns=…,start=…`: the host name, the process
 * id, a random tag (several schedulers in one process, as in tests, are distinct holders), the
 * kernel's boot id, the process's pid namespace and its start time in clock ticks since boot. A
 * process on the same host and in the same pid namespace can then check /proc: a holder whose pid
 * no longer exists, is a zombie, or is now another process (different start time) is gone, and its
 * lease is taken over at once instead of when it expires. A holder from an earlier boot of this
 * machine is gone too. On another host (or in another pid namespace) nothing can be checked: its
 * lease is taken over when it expires, which heartbeats keep short.
 */
export interface HolderIdentity {
  host: string;
  pid: number;
  tag: string;
  boot: string | null;
  pidNamespace: string | null;
  startTicks: string | null;
}

function readOrNull(read: () => string): string | null {
  try {
    return read().trim() || null;
  } catch {
    return null;
  }
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses): [state, ppid, …]. */
function statFields(pid: number): string[] | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

// /proc/PID/stat field 22 (starttime) is index 19 after the command name; field 3 (state) is index 0.
const START_TIME_INDEX = 19;

const ME = {
  host: hostname(),
  pid: process.pid,
  boot: readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/-/g, '').slice(0, 12)),
  pidNamespace: readOrNull(() => readlinkSync('/proc/self/ns/pid').replace(/\D/g, '')),
  startTicks: statFields(process.pid)?.[START_TIME_INDEX] ?? null,
};

/** A new holder name for this process (one per scheduler or delivery worker). */
export function newHolderName(): string {
  const tag = randomBytes(3).toString('hex');
  const facts = [
    ME.boot && `boot=${ME.boot}`,
    ME.pidNamespace && `ns=${ME.pidNamespace}`,
    ME.startTicks && `start=${ME.startTicks}`,
  ]
    .filter(Boolean)
    .join(',');
  return `${ME.host}:${ME.pid}:${tag}${facts ? `;${facts}` : ''}`;
}

export function parseHolderName(name: string): HolderIdentity | undefined {
  const [who = '', facts = ''] = name.split(';', 2);
  const m = /^(.*):(\d+):([0-9a-f]+)$/.exec(who);
  if (!m) return undefined;
  const fact = (key: string) => new RegExp(`(?:^|,)${key}=([^,]+)`).exec(facts)?.[1] ?? null;
  return {
    host: m[1] as string,
    pid: Number(m[2]),
    tag: m[3] as string,
    boot: fact('boot'),
    pidNamespace: fact('ns'),
    startTicks: fact('start'),
  };
}

/**
 * True only when the holder certainly no longer runs: same host, and an earlier boot, or (same pid
 * namespace) no such process, a zombie, or another process that reused the pid. False whenever it
 * cannot be told (another host, another namespace, no /proc): then the lease expires by itself.
 */
export function holderIsGone(name: string): boolean {
  const h = parseHolderName(name);
  if (!h || h.host !== ME.host) return false;
  if (h.boot && ME.boot && h.boot !== ME.boot) return true;
  if (!h.pidNamespace || !ME.pidNamespace || h.pidNamespace !== ME.pidNamespace) return false;
  if (h.pid === ME.pid) return h.startTicks !== null && ME.startTicks !== null && h.startTicks !== ME.startTicks;
  const fields = statFields(h.pid);
  if (fields === null) return !pidExists(h.pid);
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return true;
  const start = fields[START_TIME_INDEX] ?? null;
  return h.startTicks !== null && start !== null && start !== h.startTicks;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LeaseKeeper {
  /** Aborted when the lease is lost (another holder took it, or it could not be renewed before it expired) or when `parent` aborts. */
  signal: AbortSignal;
  stop(): void;
}

/**
 * Renews a lease every `everyMs` (a third of its length) while work runs. `renew` answers whether
 * the lease is still ours; a renewal that fails (database unreachable) is retried at the next beat,
 * and once the lease may have expired unrenewed, the work is told to stop: another process may have
 * taken it over.
 */
export function keepLeaseAlive(opts: {
  leaseMs: number;
  renew: () => Promise<boolean>;
  parent?: AbortSignal;
  onLost?: (reason: string) => void;
}): LeaseKeeper {
  const controller = new AbortController();
  const everyMs = Math.max(50, Math.floor(opts.leaseMs / 3));
  let lastRenewed = Date.now();
  let renewing = false;
  const lose = (reason: string) => {
    if (controller.signal.aborted) return;
    opts.onLost?.(reason);
    controller.abort(new Error(reason));
  };
  const timer = setInterval(() => {
    if (renewing || controller.signal.aborted) return;
    renewing = true;
    opts
      .renew()
      .then((ours) => {
        if (ours) lastRenewed = Date.now();
        else lose('the lease was taken over by another process');
      })
      .catch((err: unknown) => {
        if (Date.now() - lastRenewed >= opts.leaseMs)
          lose(
            `the lease could not be renewed before it expired (${err instanceof Error ? err.message : String(err)})`,
          );
      })
      .finally(() => {
        renewing = false;
      });
  }, everyMs);
  // Not unref'd: a run in progress keeps the process up until it ends (or its lease is lost).

  const onParentAbort = () => controller.abort(opts.parent?.reason ?? new Error('stopping'));
  if (opts.parent?.aborted) onParentAbort();
  else opts.parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    stop() {
      clearInterval(timer);
      opts.parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
