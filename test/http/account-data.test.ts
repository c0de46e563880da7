/**
 * Global account data: PUT/GET /user/{userId}/account_data/{type}. Only the owner reads and writes; types the
 * server manages are refused; every write takes a new stream position so /sync can deliver it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import postgres from 'postgres';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { TEST_POOL_SIZE } from '../support/db.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const dataPath = (userId: string, type: string) => `/_matrix/client/v3/user/${encodeURIComponent(userId)}/account_data/${encodeURIComponent(type)}`;

async function put(u: TestUser, type: string, content: unknown, userId = u.userId) {
  return t.http.put(dataPath(userId, type)).set(u.auth).send(content as object);
}

async function expectPut(u: TestUser, type: string, content: Record<string, unknown>): Promise<void> {
  const res = await put(u, type, content);
  expect([res.status, res.body]).toEqual([200, {}]);
  expectValidResponseById('setAccountData', 200, res.body);
}

async function expectGet(u: TestUser, type: string, content: Record<string, unknown>): Promise<void> {
  const res = await t.http.get(dataPath(u.userId, type)).set(u.auth);
  expect([res.status, res.body]).toEqual([200, content]);
  expectValidResponseById('getAccountData', 200, res.body);
}

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

async function rows(userId: string) {
  return t.hs.sql<{ type: string; content: unknown; streamPos: number }[]>`
    SELECT type, content, stream_pos FROM account_data WHERE user_id = ${userId} ORDER BY type`;
}

async function streamHead(): Promise<number> {
  const [row] = await t.hs.sql<{ pos: number }[]>`SELECT pos FROM stream_head`;
  return row.pos;
}

describe('global account data', () => {
  test('PUT then GET returns the content as sent', async () => {
    const u = await registerUser(t);
    const content = { custom_account_data_key: 'custom_config_value', n: 1.5, list: [1, { deep: [null, true] }], unicode: 'Grüße ✨' };
    await expectPut(u, 'org.example.custom.config', content);
    await expectGet(u, 'org.example.custom.config', content);
  });

  test('realistic client types: m.direct, m.ignored_user_list, m.secret_storage.default_key, empty content', async () => {
    const u = await registerUser(t);
    await expectPut(u, 'm.direct', { '@bob:test.local': ['!abc:test.local', '!def:test.local'] });
    await expectPut(u, 'm.ignored_user_list', { ignored_users: { '@spam:test.local': {} } });
    await expectPut(u, 'm.secret_storage.default_key', { key: 'abcdef' });
    await expectPut(u, 'im.vector.setting.breadcrumbs', {});
    await expectGet(u, 'm.direct', { '@bob:test.local': ['!abc:test.local', '!def:test.local'] });
    await expectGet(u, 'im.vector.setting.breadcrumbs', {});
  });

  test('a second PUT overwrites the first (one row per type)', async () => {
    const u = await registerUser(t);
    await expectPut(u, 'org.example.settings', { theme: 'dark', font: 12 });
    await expectPut(u, 'org.example.settings', { theme: 'light' });
    await expectGet(u, 'org.example.settings', { theme: 'light' });
    expect((await rows(u.userId)).map((r) => r.type)).toEqual(['org.example.settings']);
  });

  test('types are separate, and users are separate', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    await expectPut(a, 'org.example.one', { v: 'a1' });
    await expectPut(a, 'org.example.two', { v: 'a2' });
    await expectPut(b, 'org.example.one', { v: 'b1' });
    await expectGet(a, 'org.example.one', { v: 'a1' });
    await expectGet(a, 'org.example.two', { v: 'a2' });
    await expectGet(b, 'org.example.one', { v: 'b1' });
    expectError(await t.http.get(dataPath(b.userId, 'org.example.two')).set(b.auth), 404, 'M_NOT_FOUND');
  });

  test('content keys are kept as sent, also odd ones like __proto__ and constructor', async () => {
    const u = await registerUser(t);
    const body = '{"__proto__":{"polluted":true},"constructor":"x","toString":1}';
    const res = await t.http.put(dataPath(u.userId, 'org.example.odd')).set(u.auth).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    const got = await t.http.get(dataPath(u.userId, 'org.example.odd')).set(u.auth);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.text)).toEqual(JSON.parse(body));
    expect(Object.keys(JSON.parse(got.text)).sort()).toEqual(['__proto__', 'constructor', 'toString']);
  });

  test('unknown type: 404 M_NOT_FOUND', async () => {
    const u = await registerUser(t);
    expectError(await t.http.get(dataPath(u.userId, 'org.example.never.set')).set(u.auth), 404, 'M_NOT_FOUND');
  });

  test('the content must be a JSON object: arrays, strings, numbers, null and broken JSON are refused', async () => {
    const u = await registerUser(t);
    for (const body of ['[1,2]', '"text"', '42', 'null', 'true', '{"a":']) {
      const res = await t.http.put(dataPath(u.userId, 'org.example.bad')).set(u.auth).set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(['M_NOT_JSON', 'M_BAD_JSON']).toContain(res.body.errcode);
      expectMatrixError(res.body);
    }
    expect(await rows(u.userId)).toEqual([]);
  });

  test('NUL characters and absurd nesting are refused with 400, never a server error', async () => {
    const u = await registerUser(t);
    expectError(await put(u, 'org.example.nul', { text: 'a\u0000b' }), 400, 'M_BAD_JSON');
    expectError(await put(u, 'org.example.nul', { 'k\u0000': 1 }), 400, 'M_BAD_JSON');
    const deep = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await t.http.put(dataPath(u.userId, 'org.example.deep')).set(u.auth).set('Content-Type', 'application/json').send(deep);
    expectError(res, 400, 'M_BAD_JSON');
    const nulType = await t.http.put(`/_matrix/client/v3/user/${encodeURIComponent(u.userId)}/account_data/org.example%00x`).set(u.auth).send({ a: 1 });
    expect(nulType.status).toBe(400);
    expectMatrixError(nulType.body);
    const nulGet = await t.http.get(`/_matrix/client/v3/user/${encodeURIComponent(u.userId)}/account_data/org.example%00x`).set(u.auth);
    expect([400, 404]).toContain(nulGet.status);
    expect(await rows(u.userId)).toEqual([]);
  });

  test('types over 255 bytes are refused', async () => {
    const u = await registerUser(t);
    expectError(await put(u, `org.${'x'.repeat(252)}`, { a: 1 }), 400, 'M_INVALID_PARAM');
    expectError(await put(u, `org.${'é'.repeat(126)}`, { a: 1 }), 400, 'M_INVALID_PARAM');
    await expectPut(u, `org.${'x'.repeat(251)}`, { a: 1 });
  });

  test("another user's account data: 403 M_FORBIDDEN for PUT and GET, and nothing is written", async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    await expectPut(b, 'org.example.private', { secret: 'b' });
    const head = await streamHead();
    expectError(await put(a, 'org.example.private', { secret: 'a' }, b.userId), 403, 'M_FORBIDDEN');
    expectError(await put(a, 'org.example.new', { x: 1 }, b.userId), 403, 'M_FORBIDDEN');
    expectError(await t.http.get(dataPath(b.userId, 'org.example.private')).set(a.auth), 403, 'M_FORBIDDEN');
    // Even for a type that does not exist, so existence does not leak.
    expectError(await t.http.get(dataPath(b.userId, 'org.example.none')).set(a.auth), 403, 'M_FORBIDDEN');
    expect(await rows(a.userId)).toEqual([]);
    expect((await rows(b.userId)).map((r) => [r.type, r.content])).toEqual([['org.example.private', { secret: 'b' }]]);
    expect(await streamHead()).toBe(head);
  });

  test('m.fully_read and m.push_rules are managed by the server: 405 M_BAD_JSON and nothing written', async () => {
    const u = await registerUser(t);
    const head = await streamHead();
    for (const type of ['m.fully_read', 'm.push_rules']) {
      expectError(await put(u, type, { event_id: '$x' }), 405, 'M_BAD_JSON');
    }
    expect(await rows(u.userId)).toEqual([]);
    expect(await streamHead()).toBe(head);
  });

  test('no token: 401 M_MISSING_TOKEN for PUT and GET', async () => {
    const u = await registerUser(t);
    expectError(await t.http.put(dataPath(u.userId, 'org.example.x')).send({ a: 1 }), 401, 'M_MISSING_TOKEN');
    expectError(await t.http.get(dataPath(u.userId, 'org.example.x')), 401, 'M_MISSING_TOKEN');
  });
});

describe('stream positions', () => {
  test('each write advances the stream; the row keeps the latest position and the head equals it', async () => {
    const u = await registerUser(t);
    const start = await streamHead();
    await expectPut(u, 'org.example.pos', { n: 1 });
    const [first] = await rows(u.userId);
    expect(first.streamPos).toBeGreaterThan(start);
    expect(await streamHead()).toBe(first.streamPos);

    await expectPut(u, 'org.example.pos', { n: 2 });
    const [second] = await rows(u.userId);
    expect(second.streamPos).toBeGreaterThan(first.streamPos);
    expect(await streamHead()).toBe(second.streamPos);

    await expectPut(u, 'org.example.other', { n: 3 });
    const all = await rows(u.userId);
    const other = all.find((r) => r.type === 'org.example.other')!;
    expect(other.streamPos).toBeGreaterThan(second.streamPos);
    expect(all.find((r) => r.type === 'org.example.pos')!.streamPos).toBe(second.streamPos);
    expect(await streamHead()).toBe(other.streamPos);
  });

  test('concurrent writes get distinct positions and the head ends at the highest', async () => {
    const users = await Promise.all([registerUser(t), registerUser(t), registerUser(t)]);
    const writes = users.flatMap((u) => [1, 2, 3, 4].map((i) => put(u, `org.example.c${i}`, { i })));
    const results = await Promise.all(writes);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const positions = (await Promise.all(users.map((u) => rows(u.userId)))).flat().map((r) => r.streamPos);
    expect(positions).toHaveLength(12);
    expect(new Set(positions).size).toBe(12);
    expect(await streamHead()).toBe(Math.max(...positions));
  });

  test('a write that fails takes no position', async () => {
    const u = await registerUser(t);
    const head = await streamHead();
    expectError(await put(u, 'org.example.nul', { text: '\u0000' }), 400, 'M_BAD_JSON');
    expect(await streamHead()).toBe(head);
  });

  // Two writes at once, one waiting for a row lock: two connections (the pool-of-one pass has one).
  (TEST_POOL_SIZE >= 2 ? test : test.skip)('a write waiting for its row does not hold the stream head, so other writes go on', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    await expectPut(a, 'org.example.locked', { n: 1 });
    const other = postgres(t.database.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = other.begin(async (tx) => {
      await tx`SELECT 1 FROM account_data WHERE user_id = ${a.userId} AND type = 'org.example.locked' FOR UPDATE`;
      locked();
      await released;
    });
    try {
      await isLocked;
      const blocked = put(a, 'org.example.locked', { n: 2 });
      // Wait (by polling the database, not by time) until the server's transaction waits for the row lock.
      let waitingPid: number | undefined;
      while (waitingPid === undefined) {
        const [row] = await t.hs.sql<{ pid: number }[]>`
          SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%account_data%' AND pid <> pg_backend_pid()`;
        waitingPid = row?.pid;
      }
      const heldOnHead = await t.hs.sql`
        SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE l.pid = ${waitingPid} AND c.relname = 'stream_head' AND l.granted`;
      expect(heldOnHead).toHaveLength(0);
      // Another user's write completes meanwhile.
      await expectPut(b, 'org.example.free', { n: 1 });
      release();
      await holder;
      expect((await blocked).status).toBe(200);
      await expectGet(a, 'org.example.locked', { n: 2 });
      const [locked2] = (await rows(a.userId)).filter((r) => r.type === 'org.example.locked');
      const [free] = await rows(b.userId);
      expect(locked2.streamPos).toBeGreaterThan(free.streamPos);
      expect(await streamHead()).toBe(locked2.streamPos);
    } finally {
      release();
      await holder.catch(() => {});
      await other.end({ timeout: 5 });
    }
  });
});
