/**
 * How long `npm start` takes to serve: the time from spawning it to the first 200 on /_matrix/client/versions, on a
 * built checkout (the build is skipped), and with a full compile first (dist/'s build fingerprint and tsc's
 * incremental state removed before each run: what every start cost before scripts/build.mjs). Loopback only; every
 * run is bounded and its process group is stopped.
 *
 *   npm run bench:start [-- --runs 3] [--database-url postgres://...]   (default: the embedded database in a temp dir)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/ports.js';
import { PROJECT_ROOT } from '../test/support/process.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'database-url': { type: 'string' } } });
const RUNS = Math.max(1, Number(args.runs));
const LIMIT_MS = 300_000;

/** One data dir for every run: the embedded database is created by the warm-up run, not by a measured one. */
const dataDir = mkdtempSync(join(tmpdir(), 'securecomm-start-'));

async function timeToServe(): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  if (args['database-url']) env.DATABASE_URL = args['database-url'];
  const started = performance.now();
  const child = spawn('npm', ['start'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  try {
    for (;;) {
      if (performance.now() - started > LIMIT_MS) throw new Error('npm start did not serve within the time limit');
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/_matrix/client/versions`);
        if (res.status === 200) return (performance.now() - started) / 1000;
      } catch {
        /* not listening yet */
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

function forgetBuild(): void {
  rmSync(join(PROJECT_ROOT, 'dist', '.build-fingerprint'), { force: true });
  rmSync(join(PROJECT_ROOT, 'dist', '.tsbuildinfo'), { force: true });
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(2)} s, min ${s[0].toFixed(2)} s, max ${s[s.length - 1].toFixed(2)} s`;
};

const database = args['database-url'] ? 'PostgreSQL' : 'embedded';
console.log(`npm start to the first 200 on /versions, ${RUNS} run(s) each, database: ${database}; load average ${loadavg()[0].toFixed(1)}`);
await timeToServe(); // warm-up: builds if needed, creates the embedded database
const compiled: number[] = [];
for (let i = 0; i < RUNS; i++) {
  forgetBuild();
  compiled.push(await timeToServe());
}
const built: number[] = [];
for (let i = 0; i < RUNS; i++) built.push(await timeToServe());
console.log(`full compile first (as before): ${summary(compiled)}`);
console.log(`built checkout:                 ${summary(built)}`);
console.log(`load average now ${loadavg()[0].toFixed(1)}`);
rmSync(dataDir, { recursive: true, force: true });
