/**
 * GET /health and GET /ready: alive and ready on a migrated PostgreSQL and on the embedded database; not ready (503
 * with a retry hint, naming the failed check) when a migration is missing, when the schema has one this build does
 * not know, and when the database is gone; ready again once it is put right. A wake probe crosses to another process
 * as a wake of no keys.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, withAdmin } from '../support/db.js';
import { startSecondServer, startServerOn, startTestServer, type TestServer } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

async function expectReady(http: TestServer['http']) {
  const res = await http.get('/ready');
  expect(res.status).toBe(200);
  expectValidResponseById('getReady', 200, res.body);
  expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', bus: 'ok' } });
}

async function expectNotReady(http: TestServer['http'], failed: RegExp) {
  const res = await http.get('/ready');
  expect(res.status).toBe(503);
  expectValidResponseById('getReady', 503, res.body);
  expectMatrixError(res.body, 'M_UNKNOWN');
  expect(res.body.error).toMatch(failed);
  expect(res.body.retry_after_ms).toBeGreaterThan(0);
  expect(res.headers['retry-after']).toBeDefined();
}

describe('on PostgreSQL', () => {
  let t: TestServer;
  // Generous: under a loaded machine (CI beside other work) a server's start has taken over the default 30 s.
  beforeAll(async () => {
    t = await startTestServer();
  }, 120_000);
  afterAll(() => t?.close());

  test('alive and ready', async () => {
    const health = await t.http.get('/health');
    expect(health.status).toBe(200);
    expectValidResponseById('getHealth', 200, health.body);
    expect(health.body).toEqual({ status: 'ok' });
    await expectReady(t.http);
  });

  test('a missing migration, or one this build does not know, is not ready; put right, ready again', async () => {
    const [last] = await t.hs.sql<{ id: number; name: string; runOn: Date }[]>`SELECT id, name, run_on FROM pgmigrations ORDER BY id DESC LIMIT 1`;
    await t.hs.sql`DELETE FROM pgmigrations WHERE id = ${last.id}`;
    await expectNotReady(t.http, /^Not ready: migrations check failed\.$/);
    await t.hs.sql`INSERT INTO pgmigrations (id, name, run_on) VALUES (${last.id}, ${last.name}, ${last.runOn})`;
    await expectReady(t.http);

    await t.hs.sql`INSERT INTO pgmigrations (name, run_on) VALUES ('9999_from_the_future', now())`;
    await expectNotReady(t.http, /migrations/);
    await t.hs.sql`DELETE FROM pgmigrations WHERE name = '9999_from_the_future'`;
    await expectReady(t.http);
  });

  test("another process reads the wake channel's probe as a wake of no keys", async () => {
    const other = await startSecondServer(t.database.url);
    try {
      const before = other.hs.notifier.stats();
      await expectReady(t.http);
      await expectReady(other.http);
      expect(other.hs.notifier.stats().remoteKeys).toBe(before.remoteKeys);
    } finally {
      await other.close();
    }
  });
});

test('a server whose database is gone is alive but not ready (database, migrations), within bounded time', async () => {
  const database = await createTestDatabase();
  const t = await startSecondServer(database.url);
  try {
    await expectReady(t.http);
    await withAdmin((sql) => sql.unsafe(`DROP DATABASE ${database.name} WITH (FORCE)`));
    expect((await t.http.get('/health')).status).toBe(200);
    await expectNotReady(t.http, /database, migrations(, bus)? check failed/);
  } finally {
    await t.close();
    await database.drop();
  }
}, 60_000);

test('the embedded database: ready, with the wake channel in-process', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'securecomm-ready-'));
  const db = await openEmbedded(dataDir);
  try {
    await migrate(db);
    const s = await startServerOn(db);
    try {
      await expectReady(s.http);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The embedded database (WebAssembly) migrates in about 20 s on an idle core, and several times that under load.
}, 300_000);
