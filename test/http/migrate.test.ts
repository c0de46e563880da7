/** Migrations: several processes migrating one empty database at once all succeed (the later ones wait). */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectPostgres } from '../../src/db/database.js';
import { knownMigrations, migrate } from '../../src/db/migrate.js';
import { createEmptyDatabase } from '../support/db.js';

let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
beforeAll(async () => {
  database = await createEmptyDatabase();
});
afterAll(() => database.drop());

test('concurrent start-ups migrate once and none fails', async () => {
  const dbs = [0, 1, 2].map(() => connectPostgres(database.url, 1));
  try {
    const applied = await Promise.all(dbs.map((db) => migrate(db)));
    expect(applied.flat().sort()).toEqual(knownMigrations());
    const rows = await dbs[0].sql<{ name: string }[]>`SELECT name FROM pgmigrations ORDER BY name`;
    expect(rows.map((r) => r.name)).toEqual(knownMigrations());
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
  }
});
