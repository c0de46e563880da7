/**
 * Opening the database: PostgreSQL from DATABASE_URL, or an embedded PostgreSQL (PGlite) served on a private
 * Unix socket so that the same postgres.js queries and node-pg-migrate migrations run on both. See docs/database.md.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;
/** Functions in db/ take either the pool or a transaction. */
export type Db = Sql | Tx;

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
    connection: { application_name: 'securecomm' },
  };
}

export function connectPostgres(url: string, max = 10): Database {
  const sql = postgres(url, sqlOptions(max)) as unknown as Sql;
  return { sql, migrationTarget: url, embedded: false, close: () => sql.end({ timeout: 5 }) };
}

/**
 * PGlite runs in this process; PGLiteSocketServer speaks the PostgreSQL wire protocol on a Unix socket in a
 * private temporary folder. It serves one session, so the pool has exactly one connection.
 */
export async function openEmbedded(dataDir: string): Promise<Database> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  const pgDir = resolve(dataDir, 'pgdata');
  mkdirSync(pgDir, { recursive: true });
  const pglite = await PGlite.create(pgDir);
  const socketDir = mkdtempSync(join(tmpdir(), 'securecomm-'));
  const server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 1 });
  await server.start();
  const sql = postgres({ ...sqlOptions(1), path: join(socketDir, '.s.PGSQL.5432'), username: 'postgres', database: 'postgres' }) as unknown as Sql;
  return {
    sql,
    migrationTarget: { host: socketDir, port: 5432, user: 'postgres', database: 'postgres' },
    embedded: true,
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await pglite.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
