/**
 * Opening the database: PostgreSQL from DATABASE_URL, or an embedded PostgreSQL (PGlite) served on a private
 * Unix socket so that the same postgres.js queries and node-pg-migrate migrations run on both. See docs/database.md.
 */
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { COMMIT_AT_ONCE } from './write-size.js';

/** The embedded database's folder is held by another live process. */
export class DataDirInUseError extends Error {}

export type Sql = postgres.Sql<Record<string, never>>;
/** A connection reserved for one transaction (see `transaction`). */
export type Tx = postgres.ReservedSql<Record<string, never>>;
/** Functions in db/ take either the pool or a transaction. */
export type Db = Sql | Tx;

/**
 * Runs `fn` in a transaction on a reserved connection: BEGIN, then COMMIT, or ROLLBACK if it throws.
 * Not sql.begin: in postgres.js 3.4.9 a BEGIN that fills a connection's pipeline can skip the reservation under
 * concurrent load (UNSAFE_TRANSACTION, porsager/postgres#823); a reserved connection never takes other queries.
 * `fn` may end the transaction itself with commitPipelined. A COMMIT that PostgreSQL answers with ROLLBACK (the
 * transaction had failed) is an error, never a success.
 */
export async function transaction<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const tx = (await sql.reserve()) as Tx;
  try {
    // Not awaited on its own: BEGIN goes out with the transaction's first statement (one round trip fewer).
    const begun = tx`BEGIN`.execute();
    let result: T;
    try {
      [result] = await Promise.all([fn(tx), begun]);
    } catch (err) {
      if (!earlyCommits.has(tx)) await tx`ROLLBACK`.catch(() => {});
      throw err;
    }
    await (earlyCommits.get(tx) ?? commit(tx));
    return result;
  } finally {
    earlyCommits.delete(tx);
    tx.release();
  }
}

const earlyCommits = new WeakMap<Tx, Promise<void>>();

/** COMMIT_AT_ONCE: locks held until COMMIT (the stream head's) must not wait for the event loop (db/write-size.ts). */
async function commit(tx: Tx): Promise<void> {
  const done = await tx.unsafe(COMMIT_AT_ONCE);
  if (done.command !== 'COMMIT') throw new Error(`the transaction was rolled back (PostgreSQL answered ${done.command} to COMMIT)`);
}

/**
 * Sends COMMIT right behind the statements already issued on `tx`, without waiting for their results: the
 * transaction's locks (the stream head's above all) are then released as soon as PostgreSQL has run them, not one
 * round trip and one turn of this process's event loop later. Nothing may be issued on `tx` after it. If an earlier
 * statement fails, PostgreSQL rolls back and the promise rejects.
 */
export function commitPipelined(tx: Tx): Promise<void> {
  const done = commit(tx);
  earlyCommits.set(tx, done);
  return done;
}

export interface Database {
  sql: Sql;
  /** node-pg-migrate / pg connection settings for the same database. */
  migrationTarget: string | { host: string; port: number; user: string; database: string };
  embedded: boolean;
  /** Closes the pool (and the embedded database): waits for queries in flight. */
  close(): Promise<void>;
}

const bigintAsNumber = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

function sqlOptions(max: number): postgres.Options<Record<string, never>> {
  return {
    max,
    onnotice: () => {},
    transform: { column: { from: postgres.toCamel } },
    types: { bigint: bigintAsNumber } as unknown as Record<string, never>,
    // JIT compiles a query whose estimated cost is high (an unanalysed table can look huge): ~150 ms per short
    // query. Nothing here runs long enough to gain from it.
    connection: { application_name: 'securecomm', jit: 'off' },
  };
}

export function connectPostgres(url: string, max = 10): Database {
  const sql = postgres(url, sqlOptions(max)) as unknown as Sql;
  return { sql, migrationTarget: url, embedded: false, close: () => sql.end({ timeout: 5 }) };
}

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
export async function openEmbedded(dataDir: string): Promise<Database> {
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
  const sql = postgres({ ...sqlOptions(1), path: join(dir, '.s.PGSQL.5432'), username: 'postgres', database: 'postgres' }) as unknown as Sql;
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
