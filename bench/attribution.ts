/**
 * Cause attribution for the bench's latency tails: per step, what the server's own metrics say (event-loop delay
 * p99/max, database pool wait p99, GC pause time, from GET /metrics behind the bench's token) and what PostgreSQL
 * says (sessions of the bench database waiting on a lock, by what they wait for, and sessions idle inside a
 * transaction, i.e. waiting for the server; sampled from pg_stat_activity; checkpoints from pg_stat_bgwriter).
 */
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { round } from './stats.js';

type Sample = Map<string, number>;

/** Prometheus text exposition -> `name{labels}` -> value (comments skipped). */
export function parseExposition(text: string): Sample {
  const out: Sample = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

export async function scrape(baseUrl: string, token: string | undefined): Promise<Sample | undefined> {
  if (!token) return undefined;
  try {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    return res.ok ? parseExposition(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The p99 of a Prometheus histogram over the interval between two scrapes, as the upper bound of the bucket it
 * falls in (so "<= x"), with the count and mean; `match` picks the series (e.g. a label) by its key.
 */
export function histogramDelta(before: Sample | undefined, after: Sample | undefined, name: string, match = (_key: string) => true) {
  if (!after) return undefined;
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const [key, v] of after) {
    if (!key.startsWith(name) || !match(key)) continue;
    const was = before?.get(key) ?? 0;
    if (key.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(key)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + v - was);
    } else if (key.startsWith(`${name}_count`)) count += v - was;
    else if (key.startsWith(`${name}_sum`)) sum += v - was;
  }
  if (count === 0) return { count: 0, p99Ms: null, meanMs: null, sumMs: 0 };
  let p99: number | null = null;
  for (const bound of [...buckets.keys()].sort((a, b) => a - b)) {
    if ((buckets.get(bound) ?? 0) >= 0.99 * count) {
      p99 = bound;
      break;
    }
  }
  return { count, p99Ms: p99 === null || p99 === Infinity ? null : round(p99 * 1000, 2), meanMs: round((sum / count) * 1000, 3), sumMs: round(sum * 1000, 1) };
}

const gaugeMs = (s: Sample | undefined, name: string) => {
  const v = s?.get(name);
  return v === undefined ? null : round(v * 1000, 1);
};

/** What the server's metrics say about one step: scrape at its start (which resets the loop-delay window) and end. */
export function serverAttribution(before: Sample | undefined, after: Sample | undefined) {
  if (!after) return undefined;
  const poolTx = histogramDelta(before, after, 'securecomm_db_pool_wait_seconds', (k) => k.includes('kind="transaction"'));
  const poolAll = histogramDelta(before, after, 'securecomm_db_pool_wait_seconds');
  const gc = histogramDelta(before, after, 'nodejs_gc_duration_seconds');
  const gcMinor = histogramDelta(before, after, 'nodejs_gc_duration_seconds', (k) => k.includes('kind="minor"'));
  const gcMajor = histogramDelta(before, after, 'nodejs_gc_duration_seconds', (k) => k.includes('kind="major"'));
  return {
    eventLoopDelayP99Ms: gaugeMs(after, 'nodejs_eventloop_lag_p99_seconds'),
    eventLoopDelayMaxMs: gaugeMs(after, 'nodejs_eventloop_lag_max_seconds'),
    eventLoopDelayMeanMs: gaugeMs(after, 'nodejs_eventloop_lag_mean_seconds'),
    poolWaitP99Ms: poolAll?.p99Ms ?? null,
    poolWaitTxP99Ms: poolTx?.p99Ms ?? null,
    poolWaits: poolAll?.count ?? null,
    gcPauses: gc?.count ?? null,
    gcPauseTotalMs: gc?.sumMs ?? null,
    gcPauseMeanMs: gc?.meanMs ?? null,
    /** Scavenges (young generation) and mark-sweep-compacts, with their total pause. */
    gcMinor: gcMinor?.count ?? null,
    gcMinorMs: gcMinor?.sumMs ?? null,
    gcMajor: gcMajor?.count ?? null,
    gcMajorMs: gcMajor?.sumMs ?? null,
  };
}

export interface LockSummary {
  samples: number;
  /** Mean number of sessions waiting on a lock, by what the waiting statement is. */
  meanWaitingStreamHead: number;
  meanWaitingRoomLock: number;
  meanWaitingOther: number;
  maxWaiting: number;
  /** Mean sessions idle inside a transaction (the transaction waits for the server to send its next statement). */
  meanIdleInTransaction: number;
  /** Mean sessions running a statement (not waiting on a lock). */
  meanActive: number;
  checkpoints: number | null;
  buffersWrittenByBackends: number | null;
}

/**
 * Samples pg_stat_activity of one database every `everyMs` on a connection of its own (a few hundred cheap
 * queries a step; the sampler's own session is left out).
 */
export class LockSampler {
  private readonly sql;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private acc = { samples: 0, head: 0, room: 0, other: 0, max: 0, idleTx: 0, active: 0 };
  private bgStart: { c: number; b: number } | undefined;

  constructor(databaseUrl: string, private readonly everyMs = 20) {
    this.sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'bench-sampler' } });
  }

  private async bgwriter() {
    try {
      const [r] = await this.sql<{ c: string; b: string }[]>`SELECT checkpoints_timed + checkpoints_req AS c, buffers_backend AS b FROM pg_stat_bgwriter`;
      return { c: Number(r.c), b: Number(r.b) };
    } catch {
      return undefined;
    }
  }

  async start(): Promise<void> {
    this.acc = { samples: 0, head: 0, room: 0, other: 0, max: 0, idleTx: 0, active: 0 };
    this.bgStart = await this.bgwriter();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const rows = await this.sql<{ state: string | null; waitType: string | null; query: string }[]>`
        SELECT state, wait_event_type AS wait_type, left(query, 200) AS query FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> 'bench-sampler'`;
      let head = 0;
      let room = 0;
      let other = 0;
      for (const r of rows) {
        if (r.waitType === 'Lock') {
          if (r.query.includes('stream_head')) head++;
          else if (/FROM rooms\b[\s\S]*FOR UPDATE/i.test(r.query)) room++;
          else other++;
        } else if (r.state === 'idle in transaction') this.acc.idleTx++;
        else if (r.state === 'active') this.acc.active++;
      }
      this.acc.samples++;
      this.acc.head += head;
      this.acc.room += room;
      this.acc.other += other;
      this.acc.max = Math.max(this.acc.max, head + room + other);
    } catch {
      /* a sample lost: the others stand */
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<LockSummary> {
    if (this.timer) clearInterval(this.timer);
    const deadline = performance.now() + 1000;
    while (this.busy && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const bgEnd = await this.bgwriter();
    const n = Math.max(1, this.acc.samples);
    return {
      samples: this.acc.samples,
      meanWaitingStreamHead: round(this.acc.head / n, 2),
      meanWaitingRoomLock: round(this.acc.room / n, 2),
      meanWaitingOther: round(this.acc.other / n, 2),
      maxWaiting: this.acc.max,
      meanIdleInTransaction: round(this.acc.idleTx / n, 2),
      meanActive: round(this.acc.active / n, 2),
      checkpoints: this.bgStart && bgEnd ? bgEnd.c - this.bgStart.c : null,
      buffersWrittenByBackends: this.bgStart && bgEnd ? bgEnd.b - this.bgStart.b : null,
    };
  }

  async end(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sql.end({ timeout: 2 });
  }
}
