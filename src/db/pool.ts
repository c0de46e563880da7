/**
 * The rules of the connection pool (docs/database.md, "Transactions and the pool"):
 * - Admission: each transaction reserves a connection. When every connection is reserved, plain queries and new
 *   transactions wait here, in one FIFO line that can give up (postgres.js's own queue cannot), for at most the
 *   pool timeout; then they fail with 503 M_UNKNOWN and a retry hint, and nothing is left behind.
 * - Inside a transaction the pool is out of reach: with the tripwire on, a query or a transaction started on the
 *   pool from an async context that holds a transaction fails at once (NestedPoolUseError). Such a query would wait
 *   for a connection that its own caller holds: with a pool of one (the embedded database), forever.
 * - A transaction whose connection closes (the database restarted) sends nothing more on it: postgres.js would
 *   write into the closed socket (an uncaught TypeError) or into the connection's next session.
 * - A database that cannot be reached (down, restarting, refusing connections) is a 503 with a retry hint, never a 500.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type postgres from 'postgres';
import { MatrixError, unavailable } from '../errors.js';
import type { Sql, Tx } from './database.js';

export interface PoolRules {
  /** Connections in the pool. */
  size: number;
  /** How long a query or transaction waits for a connection before it gives up with a 503. */
  timeoutMs: number;
  /** Fail a query on the pool from inside a transaction (costs CPU on Node 20: AsyncLocalStorage). */
  txGuard: boolean;
}

export const DEFAULT_POOL_TIMEOUT_MS = 10_000;
/** The tripwire is on under the test runner (jest sets NODE_ENV=test), where a nested use must fail loudly. */
export const txGuardByDefault = (): boolean => process.env.NODE_ENV === 'test';

/** A programming error: code inside transaction() reached for the pool instead of the transaction's handle. */
export class NestedPoolUseError extends Error {
  constructor() {
    super('the pool was used from inside a transaction: code running in transaction() must use its tx (docs/database.md)');
    this.name = 'NestedPoolUseError';
  }
}

/** How long a client should wait before retrying when the database is busy or away. */
const RETRY_AFTER_MS = 2000;

function databaseUnavailable(message: string, cause?: unknown): MatrixError {
  const err = unavailable(message, RETRY_AFTER_MS);
  if (cause !== undefined) err.cause = cause;
  return err;
}

const poolTimeout = () => databaseUnavailable('The server is busy (no database connection became free in time); try again shortly.');

/** postgres.js and Node socket codes, and PostgreSQL SQLSTATEs, that mean the database cannot be reached now. */
const UNREACHABLE = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT',
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down), too_many_connections
  '57P01', '57P02', '57P03', '53300',
]);

/** True when `err` says the connection or the database is gone (SQLSTATE class 08 is "connection exception"). */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (UNREACHABLE.has(code) || code.startsWith('08'));
}

/** The error a caller should see: a lost database becomes a 503 with a retry hint; anything else is unchanged. */
export function databaseFault(err: unknown): unknown {
  if (err instanceof MatrixError || !isConnectionLoss(err)) return err;
  return databaseUnavailable('The database is unavailable; try again shortly.', err);
}

const connectionLost = () => Object.assign(new Error('the connection under this transaction closed'), { code: 'CONNECTION_CLOSED' });

/** The transaction (if any) of the current async context; set only when the tripwire is on. */
const txScope = new AsyncLocalStorage<Tx>();

/** postgres.js's query object, as far as these rules need it (a fragment or helper has no handler). */
interface PendingQuery {
  handler: ((q: PendingQuery) => void) & { debug?: unknown };
  reject: (err: unknown) => void;
}

/** Returns a proxy of a postgres.js Sql whose queries run through `run` when they are first awaited. */
function interceptQueries<S extends Sql | Tx>(sql: S, run: (q: PendingQuery, handler: (q: PendingQuery) => void) => void, get?: (prop: PropertyKey) => unknown): S {
  const intercepted = <Q>(q: Q): Q => {
    const query = q as unknown as PendingQuery;
    if (query && typeof query.handler === 'function') {
      const handler = query.handler;
      query.handler = Object.assign((x: PendingQuery) => run(x, handler), { debug: handler.debug });
    }
    return q;
  };
  return new Proxy(sql, {
    // sql`...` builds a query; it runs only when awaited, so a fragment passed into another query costs nothing.
    apply: (target, thisArg, args) => intercepted(Reflect.apply(target, thisArg, args)),
    get(target, prop, receiver) {
      const own = get?.(prop);
      if (own !== undefined) return own;
      if (prop === 'unsafe' || prop === 'file') {
        const build = Reflect.get(target, prop, receiver) as (...a: unknown[]) => unknown;
        return (...a: unknown[]) => intercepted(build(...a));
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** A connection reserved for one transaction. */
export interface Reservation {
  tx: Tx;
  /** True once the connection has closed under the transaction: nothing more is sent on it. */
  readonly lost: boolean;
  /** Runs the transaction's body: with the tripwire on, the pool is closed to it. */
  inside<T>(fn: () => Promise<T>): Promise<T>;
  /** Hands the connection back (a lost one is postgres.js's already). */
  release(): void;
}

interface Waiter {
  /** A transaction takes a reservation when granted; a plain query only needs a connection not to be reserved. */
  reserves: boolean;
  grant(): void;
  timer: NodeJS.Timeout;
  since: number;
}

/** What the pool is doing, for metrics (relay/metrics.ts). */
export interface PoolStats {
  size: number;
  /** Connections reserved by transactions now. */
  reserved: number;
  /** Queries and transactions waiting in line now. */
  waiting: number;
  /** Waits that gave up (answered 503), since start. */
  timeouts: number;
}

/** Called with each admission's wait in seconds (0 when a connection was free): `kind` is what was admitted. */
export type PoolWaitObserver = (kind: 'query' | 'transaction', seconds: number) => void;

class Pool {
  private reserved = 0;
  private readonly waiters: Waiter[] = [];
  /** Reservations by postgres.js connection id, learnt from the first statement each sends. */
  private readonly byConnection = new Map<number, { lost: boolean }>();
  private timeouts = 0;
  observer: PoolWaitObserver | undefined;
  raw!: Sql;

  constructor(readonly rules: PoolRules) {}

  /** postgres.js's onclose: a transaction on that connection has lost it. */
  connectionClosed(id: number): void {
    const r = this.byConnection.get(id);
    if (r) r.lost = true;
    this.byConnection.delete(id);
  }

  private free(): boolean {
    return this.reserved < this.rules.size && this.waiters.length === 0;
  }

  /** Waits in line for `grant`; fails with a 503 after the pool timeout. */
  private enqueue(reserves: boolean, grant: () => void, fail: (err: unknown) => void): void {
    const waiter: Waiter = {
      reserves,
      grant: () => {
        // A transaction's wait is reported by reserve(), which also counts postgres.js's own.
        if (!reserves) this.observer?.('query', (performance.now() - waiter.since) / 1000);
        grant();
      },
      timer: setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        this.timeouts++;
        fail(poolTimeout());
      }, this.rules.timeoutMs),
      since: performance.now(),
    };
    this.waiters.push(waiter);
  }

  /** Lets waiters through in order while a connection is unreserved. */
  private drain(): void {
    while (this.waiters.length > 0 && this.reserved < this.rules.size) {
      const head = this.waiters.shift()!;
      clearTimeout(head.timer);
      if (head.reserves) this.reserved++;
      head.grant();
    }
  }

  private checkOutsideTransaction(): void {
    if (this.rules.txGuard && txScope.getStore() !== undefined) throw new NestedPoolUseError();
  }

  /** A plain query on the pool, when postgres.js is about to run it. */
  run(query: PendingQuery, handler: (q: PendingQuery) => void): void {
    try {
      this.checkOutsideTransaction();
    } catch (err) {
      return query.reject(err);
    }
    const reject = query.reject;
    query.reject = (err) => reject(databaseFault(err));
    if (this.free()) {
      this.observer?.('query', 0);
      return handler(query);
    }
    this.enqueue(false, () => handler(query), query.reject);
  }

  stats(): PoolStats {
    return { size: this.rules.size, reserved: this.reserved, waiting: this.waiters.length, timeouts: this.timeouts };
  }

  async reserve(): Promise<Reservation> {
    this.checkOutsideTransaction();
    const started = Date.now();
    const since = performance.now();
    if (this.free()) this.reserved++;
    else await new Promise<void>((resolve, reject) => this.enqueue(true, resolve, reject));
    let unreserved = false;
    const unreserve = () => {
      if (unreserved) return;
      unreserved = true;
      this.reserved--;
      this.drain();
    };
    // postgres.js may still make us wait (its connections busy with pipelined queries, or being opened).
    const reservation = this.raw.reserve() as Promise<Tx>;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.timeouts++;
        reject(poolTimeout());
      }, Math.max(0, this.rules.timeoutMs - (Date.now() - started)));
    });
    let raw: Tx;
    try {
      raw = await Promise.race([reservation, timedOut]);
      this.observer?.('transaction', (performance.now() - since) / 1000);
    } catch (err) {
      // Too late: a reservation that comes after all is handed straight back.
      reservation.then((late) => late.release(), () => {}).finally(unreserve);
      throw databaseFault(err);
    } finally {
      clearTimeout(timer);
    }
    return this.reservation(raw, unreserve);
  }

  private reservation(raw: Tx, unreserve: () => void): Reservation {
    const state = { lost: false };
    let connectionId: number | undefined;
    const options = (this.raw as unknown as { options: { debug: postgres.Options<Record<string, never>>['debug'] } }).options;
    const release = () => {
      if (connectionId !== undefined && this.byConnection.get(connectionId) === state) this.byConnection.delete(connectionId);
      // A closed connection is back in postgres.js's closed set already: handing it back as open would put a dead
      // connection in front of the next query.
      if (!state.lost) raw.release();
      unreserve();
    };
    const tx = interceptQueries(raw, (query, handler) => {
      if (state.lost) return query.reject(connectionLost());
      const reject = query.reject;
      query.reject = (err) => {
        if (isConnectionLoss(err)) state.lost = true;
        reject(err);
      };
      if (connectionId !== undefined) return handler(query);
      // postgres.js tells which connection runs a statement only to its debug hook, called while the statement is
      // written (synchronously, inside handler): set for that instant only, it names the reserved connection.
      options.debug = (id: number) => {
        connectionId = id;
      };
      try {
        handler(query);
      } finally {
        options.debug = false;
      }
      if (connectionId !== undefined) this.byConnection.set(connectionId, state);
    }, (prop) => (prop === 'release' ? release : undefined));
    return {
      tx,
      get lost() {
        return state.lost;
      },
      inside: (fn) => (this.rules.txGuard ? txScope.run(tx, fn) : fn()),
      release,
    };
  }
}

const pools = new WeakMap<Sql, Pool>();

/** What guardPool needs postgres.js to call. */
export interface PoolHooks {
  onclose(connectionId: number): void;
}

/**
 * Opens a postgres.js pool (created by `open` with the hooks in its options) wrapped so that every query and
 * transaction on it keeps the rules above. sql.reserve waits in the same line (its release hands the reservation
 * back); sql.begin is closed (transactions go through transaction(), see db/database.ts).
 */
export function guardPool(open: (hooks: PoolHooks) => Sql, rules: PoolRules): Sql {
  const pool = new Pool(rules);
  pool.raw = open({ onclose: (id) => pool.connectionClosed(id) });
  const reserve = async () => (await pool.reserve()).tx;
  const begin = () => Promise.reject(new Error('use transaction() (src/db/database.ts) for a transaction, not sql.begin'));
  const guarded = interceptQueries(pool.raw, (q, handler) => pool.run(q, handler), (prop) => (prop === 'reserve' ? reserve : prop === 'begin' ? begin : undefined));
  pools.set(guarded, pool);
  return guarded;
}

/** What `sql`'s pool is doing (a pool opened by guardPool; undefined for any other). */
export function poolStats(sql: Sql): PoolStats | undefined {
  return pools.get(sql)?.stats();
}

/** Reports every admission's wait on `sql`'s pool to `observer` (one observer per pool; metrics only). */
export function observePoolWaits(sql: Sql, observer: PoolWaitObserver | undefined): void {
  const pool = pools.get(sql);
  if (pool) pool.observer = observer;
}

/** Reserves a connection of `sql`'s pool for a transaction (the rules apply to a pool opened by guardPool). */
export async function reserveConnection(sql: Sql): Promise<Reservation> {
  const pool = pools.get(sql);
  if (pool) return pool.reserve();
  const tx = (await sql.reserve()) as Tx;
  return { tx, lost: false, inside: (fn) => fn(), release: () => tx.release() };
}
