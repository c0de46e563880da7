/**
 * Schema migrations: node-pg-migrate applies migrations/*.sql in order. A database that has migrations this
 * build does not know (a newer schema) is refused before anything is changed.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Database, Db } from './database.js';

const MIGRATIONS_TABLE = 'pgmigrations';

/** migrations/ at the project root, from src/db (tests) or dist/src/db (built). */
function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    dir = resolve(dir, '..');
    try {
      readdirSync(join(dir, 'migrations'));
      return join(dir, 'migrations');
    } catch {
      /* keep looking upwards */
    }
  }
  throw new Error('migrations/ folder not found');
}

export function knownMigrations(): string[] {
  return readdirSync(migrationsDir())
    .filter((f) => f.endsWith('.sql'))
    .map((f) => basename(f, '.sql'))
    .sort();
}

export class NewerSchemaError extends Error {}

/** The migrations applied to the database (readiness: relay/readiness.ts); throws when it cannot be read. */
export async function appliedMigrations(db: Db): Promise<string[]> {
  const rows = await db<{ name: string }[]>`SELECT name FROM pgmigrations`;
  return rows.map((r) => r.name);
}

/** Applies pending migrations; refuses a database migrated by a newer SecureComm. Returns the names applied. */
export async function migrate(db: Database, log: (msg: string) => void = () => {}): Promise<string[]> {
  const client = new pg.Client(typeof db.migrationTarget === 'string' ? { connectionString: db.migrationTarget } : db.migrationTarget);
  await client.connect();
  try {
    const exists = await client.query(`SELECT to_regclass('public.${MIGRATIONS_TABLE}') AS t`);
    if (exists.rows[0].t) {
      const applied = (await client.query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`)).rows.map((r) => r.name as string);
      const known = new Set(knownMigrations());
      const unknown = applied.filter((n) => !known.has(n));
      if (unknown.length > 0) {
        throw new NewerSchemaError(
          `The database schema is newer than this version of SecureComm knows (unknown migrations: ${unknown.join(', ')}). ` +
            'Upgrade SecureComm, or point it at another database.',
        );
      }
    }
    const done = await runner({
      dbClient: client,
      dir: migrationsDir(),
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      count: Infinity,
      checkOrder: true,
      singleTransaction: true,
      // Several server processes may start at once on one database: the others wait for the first one's migration.
      advisoryLockMode: 'wait',
      log: () => {},
      logger: { debug: () => {}, info: () => {}, warn: (m: string) => log(m), error: (m: string) => log(m) },
    });
    return done.map((m) => m.name);
  } finally {
    await client.end();
  }
}
