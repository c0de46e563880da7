/**
 * The database handle: a postgres.js pool kept by the pool's rules (pool.ts), and transactions on it. PostgreSQL is
 * reached from DATABASE_URL; the embedded database (embedded.ts) is served to the same pool. See docs/database.md.
 */
import postgres from 'postgres';
import { COMMIT_AT_ONCE } from './write-size.js';
import { DEFAULT_POOL_TIMEOUT_MS, databaseFault, guardPool, reserveConnection, txGuardByDefault, type PoolRules } from './pool.js';

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
 * transaction had failed) is an error, never a success. Inside `fn`, the database is `tx` only (pool.ts keeps the rule);
 * a connection lost under it makes the transaction fail with a 503 (the database restarted).
 */
export async function transaction<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const reservation = await reserveConnection(sql);
  const tx = reservation.tx;
  try {
    // Not awaited on its own: BEGIN goes out with the transaction's first statement (one round trip fewer).
    const begun = tx`BEGIN`.execute();
    let result: T;
    try {
      [result] = await Promise.all([reservation.inside(() => fn(tx)), begun]);
      await (earlyCommits.get(tx) ?? commit(tx));
    } catch (err) {
      // ROLLBACK whenever the transaction failed, also after a pipelined COMMIT: PostgreSQL discards the messages
      // behind a failed statement up to the next Sync, so a COMMIT sent in the same batch may never have run, and the
      // connection would go back to the pool inside an aborted transaction (every later query on it failing). After
      // a transaction that did end, ROLLBACK is only a warning.
      if (!reservation.lost) await tx`ROLLBACK`.catch(() => {});
      throw err;
    }
    return result;
  } catch (err) {
    throw databaseFault(err);
  } finally {
    earlyCommits.delete(tx);
    reservation.release();
  }
}

/**
 * Runs `fn` on a connection reserved for it, outside any transaction: for a COPY from the pool. When every pooled
 * connection is busy, postgres.js pipelines the next query onto a busy one, and a query that lands on a connection in
 * the middle of a COPY fails at once (COPY_IN_PROGRESS, a 500); a reserved connection takes no other query.
 */
export async function onOwnConnection<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const reservation = await reserveConnection(sql);
  try {
    return await reservation.inside(() => fn(reservation.tx));
  } catch (err) {
    throw databaseFault(err);
  } finally {
    reservation.release();
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

/** The pool's rules other than its size; unset ones take their defaults. */
export type PoolSettings = Partial<Omit<PoolRules, 'size'>>;

/** A postgres.js pool of `size` connections to `target` (a URL, or connection options), kept by the pool's rules. */
export function openPool(target: string | postgres.Options<Record<string, never>>, size: number, settings: PoolSettings = {}): Sql {
  const rules: PoolRules = { size, timeoutMs: settings.timeoutMs ?? DEFAULT_POOL_TIMEOUT_MS, txGuard: settings.txGuard ?? txGuardByDefault() };
  const options: postgres.Options<Record<string, never>> = {
    ...(typeof target === 'string' ? {} : target),
    max: size,
    onnotice: () => {},
    transform: { column: { from: postgres.toCamel } },
    types: { bigint: bigintAsNumber } as unknown as Record<string, never>,
    // JIT compiles a query whose estimated cost is high (an unanalysed table can look huge): ~150 ms per short
    // query. Nothing here runs long enough to gain from it.
    connection: { application_name: 'securecomm', jit: 'off' },
    // A connection being opened counts as waiting for one: it gives up when the pool's wait would.
    connect_timeout: Math.max(1, rules.timeoutMs / 1000),
    // Seconds before a lost connection is opened again: short and capped, so that the server is back within about a
    // second of the database (postgres.js's default climbs to 20 s while the database is away).
    backoff: (retries: number) => Math.min(1, 0.05 * 2 ** retries) * (0.5 + Math.random() / 2),
  };
  return guardPool(({ onclose }) => (typeof target === 'string' ? postgres(target, { ...options, onclose }) : postgres({ ...options, onclose })) as unknown as Sql, rules);
}

export function connectPostgres(url: string, max = 10, settings: PoolSettings = {}): Database {
  const sql = openPool(url, max, settings);
  return { sql, migrationTarget: url, embedded: false, close: () => sql.end({ timeout: 5 }) };
}
