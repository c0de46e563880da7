/**
 * transaction() on a real PostgreSQL: a pipelined COMMIT commits; a statement that fails in front of it rolls the
 * whole transaction back and rejects; a COMMIT that PostgreSQL answers with ROLLBACK is an error, never a success.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { commitPipelined, transaction } from '../../src/db/database.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.db.sql`CREATE TABLE t (k text PRIMARY KEY)`;
});
afterAll(() => database.drop());

const keys = async () => (await database.db.sql<{ k: string }[]>`SELECT k FROM t ORDER BY k`).map((r) => r.k);

test('a pipelined COMMIT commits what was sent before it', async () => {
  await transaction(database.db.sql, async (tx) => {
    const a = tx`INSERT INTO t VALUES ('a')`.execute();
    const b = tx`INSERT INTO t VALUES ('b')`.execute();
    await Promise.all([a, b, commitPipelined(tx)]);
  });
  expect(await keys()).toEqual(['a', 'b']);
});

test('a failing statement in front of a pipelined COMMIT rolls everything back and rejects', async () => {
  const run = transaction(database.db.sql, async (tx) => {
    const c = tx`INSERT INTO t VALUES ('c')`.execute();
    const dup = tx`INSERT INTO t VALUES ('a')`.execute(); // primary key violation
    await Promise.all([c, dup, commitPipelined(tx)]);
  });
  await expect(run).rejects.toThrow();
  expect(await keys()).toEqual(['a', 'b']);
});

test('a COMMIT answered with ROLLBACK rejects, even when the failure was swallowed', async () => {
  const run = transaction(database.db.sql, async (tx) => {
    await tx`INSERT INTO t VALUES ('d')`;
    await tx`INSERT INTO t VALUES ('a')`.catch(() => undefined);
  });
  await expect(run).rejects.toThrow(/rolled back/);
  expect(await keys()).toEqual(['a', 'b']);
  // The pool is still usable afterwards.
  await transaction(database.db.sql, async (tx) => {
    await tx`INSERT INTO t VALUES ('e')`;
  });
  expect(await keys()).toEqual(['a', 'b', 'e']);
});
