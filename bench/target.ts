/**
 * The server under test: in-process (startServer), a child process (--spawn) or a running server (--url), each
 * on loopback only, with a throw-away PostgreSQL database for the first two and CPU/RSS sampling for all that can.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { freePort } from '../test/support/ports.js';

export type TargetKind = 'in-process' | 'spawn' | 'url';

export interface Usage {
  /** CPU seconds (user + system) since the process started. */
  cpuSec: number;
  rssBytes: number;
}

export interface Target {
  kind: TargetKind;
  url: string;
  /** The server's CPU and RSS; in-process these include the load generator (same process). */
  usage(): Usage | undefined;
  /** Long-polls parked in the server's notifier (in-process only). */
  listeners(): number | undefined;
  /** Activity counters of the throw-away database (not with --url). */
  dbStats(): Promise<DbStats | undefined>;
  /** The throw-away database (not with --url), for the lock sampler (bench/attribution.ts). */
  databaseUrl?: string;
  /** The bearer token of the server's GET /metrics (a server this started), for the cause attribution. */
  metricsToken?: string;
  stop(): Promise<void>;
}

export interface DbStats {
  /** Committed + rolled back transactions: every autocommit statement counts as one. */
  xacts: number;
  tupReturned: number;
  tupFetched: number;
}

export interface TargetOptions {
  kind: TargetKind;
  url?: string;
  pid?: number;
  adminUrl: string;
  /** More settings for a server this starts (bench/media.ts: the media store and upload limit). */
  env?: Record<string, string>;
  /** --spawn: the checkout to run the server from (an A/B against another commit); default this one. */
  serverDir?: string;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));

export function isLoopbackUrl(raw: string): boolean {
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU (utime + stime) and RSS of another process, from /proc (Linux). */
export function procUsage(pid: number): Usage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after "(comm)": [0] is state (field 3), so utime (field 14) is [11] and stime (field 15) is [12].
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    return { cpuSec, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds of every process named postgres on this machine (all databases: includes other users' load). */
export function postgresCpuSec(): number | undefined {
  let total = 0;
  let found = false;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      found = true;
    } catch {
      /* the process ended meanwhile */
    }
  }
  return found ? total : undefined;
}

export function selfUsage(): Usage {
  const cpu = process.cpuUsage();
  return { cpuSec: (cpu.user + cpu.system) / 1e6, rssBytes: process.memoryUsage().rss };
}

/** A fresh database on the admin server; drop() removes it (WITH FORCE: connections left over are cut). */
async function createDatabase(adminUrl: string): Promise<{ url: string; stats(): Promise<DbStats | undefined>; drop(): Promise<void> }> {
  const name = `securecomm_bench_${randomBytes(6).toString('hex')}`;
  const admin = () => postgres(adminUrl, { max: 1, onnotice: () => {} });
  const sql = admin();
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const statsSql = admin();
  return {
    url: url.toString(),
    async stats() {
      const [row] = await statsSql<{ x: string; r: string; f: string }[]>`
        SELECT xact_commit + xact_rollback AS x, tup_returned AS r, tup_fetched AS f FROM pg_stat_database WHERE datname = ${name}`;
      return row ? { xacts: Number(row.x), tupReturned: Number(row.r), tupFetched: Number(row.f) } : undefined;
    },
    async drop() {
      await statsSql.end({ timeout: 5 });
      const s = admin();
      try {
        await s.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await s.end({ timeout: 5 });
      }
    },
  };
}

/** Every server the bench starts serves GET /metrics behind this token: the attribution reads it (bench/attribution.ts). */
const METRICS_TOKEN = randomBytes(16).toString('hex');

/** The settings of every server the bench starts (bench/scale.ts adds the bus). */
export function serverEnv(databaseUrl: string, port: number): Record<string, string> {
  return {
    METRICS_TOKEN,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(port),
    SERVER_NAME: 'bench.local',
    REGISTRATION: 'open',
    RATE_LIMITS: 'off',
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'off',
  };
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited during start-up (code ${child.exitCode})`);
    try {
      const res = await fetch(`${url}/_matrix/client/versions`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server did not answer within ${timeoutMs} ms`);
}

export async function startTarget(opts: TargetOptions): Promise<Target> {
  if (opts.kind === 'url') {
    if (!opts.url || !isLoopbackUrl(opts.url)) throw new Error('--url must point at a loopback address (127.x, ::1, localhost)');
    const pid = opts.pid;
    return {
      kind: 'url',
      url: opts.url.replace(/\/+$/, ''),
      usage: () => (pid !== undefined ? procUsage(pid) : undefined),
      listeners: () => undefined,
      dbStats: async () => undefined,
      stop: async () => {},
    };
  }

  const db = await createDatabase(opts.adminUrl);
  try {
    if (opts.kind === 'in-process') {
      const { loadConfig } = await import('../src/config.js');
      const { startServer } = await import('../src/main.js');
      const running = await startServer(loadConfig({ ...serverEnv(db.url, 0), ...opts.env }));
      return {
        kind: 'in-process',
        url: running.url,
        usage: selfUsage,
        listeners: () => running.hs.notifier.waiting(),
        dbStats: () => db.stats(),
        databaseUrl: db.url,
        metricsToken: METRICS_TOKEN,
        stop: async () => {
          try {
            await running.stop();
          } finally {
            await db.drop();
          }
        },
      };
    }

    const port = await freePort();
    // BENCH_SERVER_NODE_ARGS: Node flags for the server only (an A/B of V8 settings, e.g. --max-semi-space-size=32).
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
      cwd: opts.serverDir ?? REPO,
      env: { ...process.env, ...serverEnv(db.url, port), ...opts.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntilUp(url, child, 60_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const pid = child.pid!;
    return {
      kind: 'spawn',
      url,
      usage: () => procUsage(pid),
      listeners: () => undefined,
      dbStats: () => db.stats(),
      databaseUrl: db.url,
      metricsToken: METRICS_TOKEN,
      stop: async () => {
        try {
          if (child.exitCode === null) {
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(killer);
          }
        } finally {
          await db.drop();
        }
      },
    };
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  }
}
