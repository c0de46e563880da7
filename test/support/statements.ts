/**
 * Counting what a request costs the database, never timing it: every statement that runs on a server's pool or on a
 * transaction's reserved connection, and the round trips they took. A round trip is a wait for PostgreSQL: a
 * statement sent after an earlier statement's answer came back starts a new one, statements sent together
 * (pipelined, before any answer) share one. Used by the tests that pin a request's statements
 * (test/http/send-statements.test.ts, test/http/sync-statements.test.ts); run one request at a time.
 */
import type { Sql } from '../../src/db/database.js';

export interface Counted {
  /** The statement's text (first 70 characters, spaces collapsed), or 'helper' for a postgres.js helper. */
  text: string;
  /** The round trip it went out in (0-based, within one statementsOf). */
  roundTrip: number;
}

type Pending = { handler?: (q: unknown) => void; resolve?: (x: unknown) => void; reject?: (x: unknown) => void };

export interface StatementCounter {
  /** The pool to give the server (`t.hs.sql = counter.sql`): transactions reserved from it are counted too. */
  sql: Sql;
  /** Runs `fn` and returns its result with the statements it ran and the number of round trips they took. */
  statementsOf<T>(fn: () => Promise<T>): Promise<[T, Counted[], number]>;
}

export function countStatements(pool: Sql): StatementCounter {
  let counting = false;
  let answered = 0;
  const seen: Counted[] = [];
  // Round trips are told apart by how many answers had come back when a statement went out.
  const epochs = new Map<number, number>();

  const mark = <Q>(q: Q, text: () => string): Q => {
    const p = q as unknown as Pending;
    if (p && typeof p.handler === 'function') {
      const handler = p.handler;
      p.handler = Object.assign((x: unknown) => {
        if (counting) {
          if (!epochs.has(answered)) epochs.set(answered, epochs.size);
          seen.push({ text: text().replace(/\s+/g, ' ').trim().slice(0, 70), roundTrip: epochs.get(answered)! });
          const { resolve, reject } = p;
          p.resolve = (v) => {
            answered++;
            resolve!(v);
          };
          p.reject = (e) => {
            answered++;
            reject!(e);
          };
        }
        handler(x);
      }, handler);
    }
    return q;
  };
  const wrap = <S extends Sql>(sql: S): S =>
    new Proxy(sql, {
      apply: (target, thisArg, args) => mark(Reflect.apply(target, thisArg, args), () => (Array.isArray(args[0]) ? (args[0] as string[]).join('$') : 'helper')),
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === 'unsafe') return (...a: unknown[]) => mark((v as (...x: unknown[]) => unknown)(...a), () => String(a[0]));
        // A transaction's connection (db/pool.ts reserve): its statements are counted as well.
        if (prop === 'reserve') return async () => wrap((await (v as () => Promise<S>)()) as S);
        return v;
      },
    });

  return {
    sql: wrap(pool),
    async statementsOf(fn) {
      seen.length = 0;
      epochs.clear();
      answered = 0;
      counting = true;
      try {
        const result = await fn();
        return [result, [...seen], epochs.size];
      } finally {
        counting = false;
      }
    },
  };
}
