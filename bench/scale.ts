/**
 * `npm run bench -- --processes 1,2,3 [fan-out options]` (or `npm run bench:scale`): the fan-out benchmark (and its
 * to-device steps, where the bench has them) against 1, 2, 3... server processes on one fresh PostgreSQL database each
 * time, behind HAProxy on loopback (test/support/haproxy.ts), with NATS (--bus-url, default nats://127.0.0.1:4222) or
 * LISTEN/NOTIFY (--bus postgres) as their bus. Each run is bench/sync-fanout.ts --url <HAProxy>; this prints one table
 * of throughput and tails per process count, with the servers' CPU and the load average.
 */
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { freePort } from '../test/support/ports.js';
import { startHaproxy } from '../test/support/haproxy.js';
import { procUsage, serverEnv } from './target.js';
import { round, table } from './stats.js';

const HELP = `Usage: npm run bench -- --processes 1,2,3 [options] [fan-out options]

  --processes LIST        process counts, one run each [1,2,3]
  --bus nats|postgres     the bus between the processes [nats]
  --bus-url URL           NATS server [nats://127.0.0.1:4222]
  --db-admin-url URL      PostgreSQL to create each run's throw-away database on
                          [default: postgres://postgres@127.0.0.1:5432/postgres]
  --pool-size N           DATABASE_POOL_SIZE of each process [default: the server's]
Every other option goes to each fan-out run (npm run bench -- --help), e.g. --rates 5,20,50 --step-seconds 5.
`;

const REPO = fileURLToPath(new URL('..', import.meta.url));
const log = (msg: string) => console.error(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface Options {
  processes: number[];
  bus: 'nats' | 'postgres';
  busUrl: string;
  adminUrl: string;
  poolSize?: string;
  passthrough: string[];
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    processes: [1, 2, 3],
    bus: 'nats',
    busUrl: 'nats://127.0.0.1:4222',
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    passthrough: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help') {
      console.log(HELP);
      process.exit(0);
    } else if (a === '--processes') {
      opts.processes = value().split(',').map((s) => Number(s.trim()));
      if (opts.processes.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error('--processes must be whole numbers between 1 and 16');
    } else if (a === '--bus') {
      const v = value();
      if (v !== 'nats' && v !== 'postgres') throw new Error('--bus must be nats or postgres');
      opts.bus = v;
    } else if (a === '--bus-url') opts.busUrl = value();
    else if (a === '--db-admin-url') opts.adminUrl = value();
    else if (a === '--pool-size') opts.poolSize = value();
    else if (a === '--url' || a === '--spawn' || a === '--pid' || a === '--out') throw new Error(`${a}: the scale run starts its own servers`);
    else opts.passthrough.push(a);
  }
  return opts;
}

async function withAdmin<T>(adminUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function scaleEnv(opts: Options, databaseUrl: string, port: number, prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...serverEnv(databaseUrl, port),
    ...(opts.bus === 'nats' ? { BUS_URL: opts.busUrl, BUS_PREFIX: prefix } : {}),
    ...(opts.poolSize ? { DATABASE_POOL_SIZE: opts.poolSize } : {}),
  };
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`a server exited during start-up (code ${child.exitCode})`);
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

interface StepRow {
  kind: string;
  targetRate: number;
  sentPerSec: number;
  sendMs: { p50: number | null; p99: number | null; max: number | null };
  deliveryMs: { p50: number | null; p99: number | null; max: number | null };
  missedDeliveries: number;
  sendErrors: number;
  skippedAtInflightCap: number;
  loadavg1: number;
  seconds: number;
}

interface RunResult {
  processes: number;
  steps: StepRow[];
  serverCpuSec: number;
  wallSec: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}

/** One fan-out run against `n` processes behind HAProxy on a fresh database. */
async function runWith(opts: Options, n: number): Promise<RunResult> {
  const name = `securecomm_bench_${randomBytes(6).toString('hex')}`;
  await withAdmin(opts.adminUrl, (sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const dbUrl = new URL(opts.adminUrl);
  dbUrl.pathname = `/${name}`;
  const prefix = `scbench.${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'securecomm-scale-'));
  let haproxy: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) ports.push(await freePort());
    const start = async (port: number) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO, env: scaleEnv(opts, dbUrl.toString(), port, prefix), stdio: ['ignore', 'inherit', 'inherit'] });
      children.push(child);
      await waitReady(`http://127.0.0.1:${port}`, child);
    };
    // The first migrates the fresh database; the others start once it has.
    await start(ports[0]);
    await Promise.all(ports.slice(1).map(start));
    haproxy = await startHaproxy(ports, 1000);
    log(`${n} process(es) ready behind ${haproxy.url} (bus: ${opts.bus})`);
    const cpu = () => children.reduce((sum, c) => sum + (procUsage(c.pid!)?.cpuSec ?? 0), 0);
    const cpuStart = cpu();
    const loadavgStart = os.loadavg().map((l) => round(l, 2));
    const started = Date.now();
    const bench = spawn(process.execPath, ['--import', 'tsx', 'bench/sync-fanout.ts', '--url', haproxy.url, '--out', outDir, ...opts.passthrough], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number | null>((resolve) => bench.once('exit', (c) => resolve(c)));
    if (code !== 0) throw new Error(`the fan-out run against ${n} process(es) failed (exit ${code})`);
    const serverCpuSec = round(cpu() - cpuStart, 1);
    const file = readdirSync(outDir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('the fan-out run wrote no JSON');
    const report = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as { fanout: { results: (StepRow & { kind?: string })[] } };
    return {
      processes: n,
      steps: report.fanout.results.map((r) => ({ ...r, kind: r.kind ?? 'fan-out' })),
      serverCpuSec,
      wallSec: round((Date.now() - started) / 1000),
      loadavgStart,
      loadavgEnd: os.loadavg().map((l) => round(l, 2)),
    };
  } finally {
    await haproxy?.stop();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    rmSync(outDir, { recursive: true, force: true });
    await withAdmin(opts.adminUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => {});
  }
}

function print(runs: RunResult[], opts: Options): void {
  const f = (s: { p50: number | null; p99: number | null; max: number | null }) => `${s.p50 ?? '-'}/${s.p99 ?? '-'}/${s.max ?? '-'}`;
  const rows: unknown[][] = [];
  for (const run of runs) {
    for (const s of run.steps) {
      rows.push([run.processes, s.kind, s.targetRate, s.sentPerSec, f(s.sendMs), f(s.deliveryMs), s.missedDeliveries, s.sendErrors + s.skippedAtInflightCap, s.loadavg1]);
    }
  }
  console.log(`\nScale-out: the fan-out bench behind HAProxy (leastconn), bus ${opts.bus}, ${os.cpus().length} CPUs on this machine for everything`);
  console.log(table(['procs', 'kind', 'rate', 'sent/s', 'send ms p50/p99/max', 'delivery ms p50/p99/max', 'missed', 'errors', 'load1'], rows));
  console.log('');
  console.log(
    table(
      ['procs', 'server CPU s (all)', 'run s', 'load avg at start (1/5/15)', 'at end'],
      runs.map((r) => [r.processes, r.serverCpuSec, r.wallSec, r.loadavgStart.join('/'), r.loadavgEnd.join('/')]),
    ),
  );
}

export async function runScale(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  log(`load average (1/5/15 min): ${os.loadavg().map((l) => round(l, 2)).join(' / ')} on ${os.cpus().length} CPUs`);
  const runs: RunResult[] = [];
  for (const n of opts.processes) runs.push(await runWith(opts, n));
  print(runs, opts);
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ options: opts, cpus: os.cpus().length, runs }, null, 2)}\n`);
  console.log(`\nJSON written to ${file}`);
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  runScale(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
