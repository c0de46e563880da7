/**
 * Test databases on a real PostgreSQL (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
 * Each test file creates its own database, migrates it, and drops it at the end.
 */
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { connectPostgres, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

/**
 * Connections per test pool: DATABASE_POOL_SIZE when set (CI's second pass runs the HTTP tests with 1, what the
 * embedded database has, so that a nested use of the pool fails a test), else 5.
 */
export const TEST_POOL_SIZE = Number(process.env.DATABASE_POOL_SIZE ?? 5);

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file, with a pool of `poolSize` connections. */
export async function createTestDatabase(poolSize = TEST_POOL_SIZE): Promise<TestDatabase> {
  const name = `securecomm_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const url = databaseUrl(name);
  const db = connectPostgres(url, poolSize);
  await migrate(db);
  return {
    name,
    url,
    db,
    async drop() {
      await db.close();
      await withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** An empty database (not migrated), for tests of start-up and migrations. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `securecomm_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  return { name, url: databaseUrl(name), drop: () => withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}) };
}
