/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) inside this process, served over the PostgreSQL
 * wire protocol on a Unix socket in a private temporary folder, so that the same postgres.js queries and
 * node-pg-migrate migrations run on it. DATA_DIR is held by one process at a time (its pid file). See docs/database.md.
 */
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openPool, type Database, type PoolSettings } from './database.js';

/** The embedded database's folder is held by another live process. */
export class DataDirInUseError extends Error {}

/** DATA_DIR/securecomm.pid: the embedded database is opened by one process at a time. */
const heldLocks = new Set<string>();

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes DATA_DIR's pid file. The file is written whole under a temporary name and then hard-linked into place,
 * which fails if it exists, so a reader never sees a half-written pid. A pid file whose process is gone is stale
 * and replaced; so is one naming this very process that this process does not hold (a container restarted with
 * the same pid). Two processes that find the same stale file at the same instant can both take over: a narrow
 * window, accepted for a lock whose job is to catch a second server started by mistake. Returns the release function.
 */
function lockDataDir(dataDir: string): () => void {
  const lockPath = resolve(dataDir, 'securecomm.pid');
  const tmpPath = `${lockPath}.${process.pid}.tmp`;
  writeFileSync(tmpPath, `${process.pid}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmpPath, lockPath);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      let owner: number;
      try {
        owner = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw err;
      }
      const live = Number.isInteger(owner) && owner > 0 && (owner === process.pid ? heldLocks.has(lockPath) : processIsAlive(owner));
      if (live) {
        throw new DataDirInUseError(
          `another SecureComm process is using DATA_DIR ${resolve(dataDir)} (pid ${owner}; lock file ${lockPath}). ` +
            'The embedded database can be opened by one process only: stop that process, or set DATA_DIR to another folder.',
        );
      }
      rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  } finally {
    rmSync(tmpPath, { force: true });
  }
  heldLocks.add(lockPath);
  return () => {
    heldLocks.delete(lockPath);
    try {
      if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
    } catch {
      /* already gone */
    }
  };
}

/**
 * PGlite runs in this process; PGLiteSocketServer speaks the PostgreSQL wire protocol on a Unix socket in a
 * private temporary folder. It serves one session, so the pool has exactly one connection. DATA_DIR is locked
 * (securecomm.pid) while it is open: two processes on one PGlite data folder would corrupt it.
 */
export async function openEmbedded(dataDir: string, settings: PoolSettings = {}): Promise<Database> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  const pgDir = resolve(dataDir, 'pgdata');
  mkdirSync(pgDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  let pglite: InstanceType<typeof PGlite> | undefined;
  let socketDir: string | undefined;
  let server: InstanceType<typeof PGLiteSocketServer>;
  try {
    pglite = await PGlite.create(pgDir);
    socketDir = mkdtempSync(join(tmpdir(), 'securecomm-'));
    server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 1 });
    await server.start();
  } catch (err) {
    await pglite?.close().catch(() => {});
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
    unlock();
    throw err;
  }
  const db = pglite;
  const dir = socketDir;
  const sql = openPool({ path: join(dir, '.s.PGSQL.5432'), username: 'postgres', database: 'postgres' }, 1, settings);
  return {
    sql,
    migrationTarget: { host: dir, port: 5432, user: 'postgres', database: 'postgres' },
    embedded: true,
    async close() {
      try {
        await sql.end({ timeout: 5 });
        await server.stop();
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      } finally {
        unlock();
      }
    },
  };
}
