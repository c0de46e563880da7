/**
 * A private PostgreSQL cluster for fault tests that stop and restart the database: initdb into a temporary folder,
 * run as the `postgres` OS user (initdb refuses root) on a free port, its Unix socket inside that folder. The
 * shared PostgreSQL at 5432 is never touched. `destroy` stops it and removes its files; a process exit does too,
 * so a failing test leaves nothing running.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** The newest PostgreSQL server binaries installed (Debian layout: /usr/lib/postgresql/<major>/bin). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0], 'bin');
}

export interface PgCluster {
  port: number;
  /** A connection URL for a database of the cluster (TCP on 127.0.0.1). */
  url(database?: string): string;
  start(): Promise<void>;
  /** fast: disconnects every session (57P01) and shuts down cleanly; immediate: like a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  destroy(): Promise<void>;
}

const running = new Set<() => void>();
process.once('exit', () => {
  for (const stop of running) stop();
});

export async function startPrivateCluster(): Promise<PgCluster> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'securecomm-pg-'));
  const data = join(dir, 'data');
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
  chownSync(dir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { cwd: dir, timeout: 120_000 });
  const port = await freePort();
  const pgCtl = (args: string[]) => asPostgres('pg_ctl', ['-D', data, ...args]);
  const stopNow = () => {
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      /* not running */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(stopNow);
  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  } catch (err) {
    running.delete(stopNow);
    stopNow();
    throw err;
  }
  // fsync off: a test cluster is never power-cut; its restarts are clean or immediate shutdowns of the server only.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const cluster: PgCluster = {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: async () => {
      await pgCtl(['-l', join(dir, 'log'), '-o', serverOptions, '-w', '-t', '60', 'start']);
    },
    stop: async (mode = 'fast') => {
      await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
    },
    destroy: async () => {
      running.delete(stopNow);
      await pgCtl(['-m', 'immediate', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
