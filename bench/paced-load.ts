import { Agent, request } from 'node:http';

/**
 * An open-loop load at a steady rate, for latency at an offered rate: request k is due at
 * start + k / rate whatever happened to the others, and its latency runs from when it was due to
 * the end of its answer (so time spent waiting for a free connection counts, as it would for a
 * client: no coordinated omission, as wrk2 measures).
 *
 * Why not autocannon's overallRate: it gives each connection a budget per second, spent at once at
 * the start of each second, so "500 requests/s" arrives as bursts of 500 at the same instant once a
 * second, and the latency it reports is that of a burst queue, not of the rate (measured: p50
 * 45–50 ms at every offered rate, the same as at saturation).
 */
export interface PacedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface PacedResult {
  /** Latency of every answered request (ms), in completion order. */
  latencies: number[];
  /** Requests answered before the load's time was up (throughput = answeredInTime / seconds). */
  answeredInTime: number;
  sent: number;
  errors: number;
  non2xx: number;
  /** The first non-2xx answer, for the error message. */
  firstFailure: string;
}

export async function pacedLoad(options: {
  url: string;
  /** Keep-alive connections at most (requests due while all are busy wait for one). */
  connections: number;
  rate: number;
  seconds: number;
  next: () => PacedRequest;
}): Promise<PacedResult> {
  const { url, connections, rate, seconds, next } = options;
  const origin = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: PacedResult = { latencies: [], answeredInTime: 0, sent: 0, errors: 0, non2xx: 0, firstFailure: '' };
  const interval = 1000 / rate;
  const start = performance.now();
  const end = start + seconds * 1000;
  const inFlight = new Set<Promise<void>>();

  const fire = (due: number) => {
    const r = next();
    result.sent++;
    const done = new Promise<void>((resolve) => {
      const req = request(
        { host: origin.hostname, port: origin.port, path: r.path, method: r.method, headers: r.headers, agent },
        (res) => {
          const status = res.statusCode ?? 0;
          let body = '';
          res.on('data', (c: Buffer) => {
            if (status >= 300 && body.length < 300) body += c.toString();
          });
          res.on('end', () => {
            const at = performance.now();
            result.latencies.push(at - due);
            if (at <= end) result.answeredInTime++;
            if (status < 200 || status >= 300) {
              result.non2xx++;
              if (!result.firstFailure) result.firstFailure = `${r.method} ${r.path}: ${status} ${body.slice(0, 300)}`;
            }
            resolve();
          });
          res.on('error', () => {
            result.errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        result.errors++;
        resolve();
      });
      req.end(r.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  let k = 0;
  await new Promise<void>((finish) => {
    const tick = () => {
      const now = performance.now();
      for (let due = start + k * interval; due <= now && due < end; due = start + k * interval) {
        fire(due);
        k++;
      }
      const due = start + k * interval;
      if (due >= end) return finish();
      setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  return result;
}
