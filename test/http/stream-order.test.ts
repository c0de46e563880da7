/**
 * The stream watermark under concurrency: a transaction that took its position and has not committed holds back
 * every later writer (the stream head's row lock), so sync never reads past it, and after it commits nothing is
 * skipped or duplicated. Then two server processes on one database: a long-poll on one is woken by a write on the other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Response } from 'supertest';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerUser, startTestServer, testConfig, type TestServer, type TestUser } from '../support/server.js';
import { buildApp } from '../../src/app.js';
import { createHs, type Hs } from '../../src/hs.js';
import { connectPostgres, type Database } from '../../src/db/database.js';
import { createTestDatabase, TEST_POOL_SIZE, type TestDatabase } from '../support/db.js';
import { killAll, spawnServer } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { appendEvent, writeRoom } from '../../src/relay/rooms/append.js';
import type { EventRow } from '../../src/db/events.js';
import { parseStreamToken } from '../../src/relay/sync/token.js';
import { expectValidResponseById } from '../support/spec.js';
import { megolm, V3 } from '../support/rooms.js';


interface Ev {
  event_id: string;
  room_id?: string;
}

/** Bounded polling on a condition (no sleeps): yields to the event loop between checks. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('an out-of-order commit', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let slowRoom: string;
  let fastRoom: string;

  beforeAll(async () => {
    // A transaction held open, a writer waiting behind it and a sync reading meanwhile: three connections at once.
    t = await startTestServer({}, undefined, Math.max(TEST_POOL_SIZE, 3));
    alice = await registerUser(t, 'alice');
    bob = await registerUser(t, 'bob');
    for (const which of ['slow', 'fast']) {
      const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ preset: 'public_chat', name: which });
      expect(res.status).toBe(200);
      const join = await t.http.post(`${V3}/join/${encodeURIComponent(res.body.room_id)}`).set(bob.auth).send({});
      expect(join.status).toBe(200);
      if (which === 'slow') slowRoom = res.body.room_id;
      else fastRoom = res.body.room_id;
    }
  });
  afterAll(() => t.close());

  async function sync(query: Record<string, string | number>): Promise<Response> {
    const res = await t.http.get(`${V3}/sync`).query(query).set(bob.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('sync', 200, res.body);
    return res;
  }

  /** Every timeline event of a sync response, per room, in order. */
  const delivered = (body: { rooms: { join: Record<string, { timeline: { events: Ev[] } }> } }) =>
    Object.entries(body.rooms.join).flatMap(([roomId, r]) => r.timeline.events.map((e) => ({ roomId, eventId: e.event_id })));

  test('a later writer waits for the slow one; sync stops below it, then delivers both, each exactly once', async () => {
    const start = await sync({});
    const s0 = start.body.next_batch as string;

    // The slow writer: the real write path (writeRoom + appendEvent, which takes the position last), held open.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let tookPosition!: (row: EventRow) => void;
    const taken = new Promise<EventRow>((resolve) => (tookPosition = resolve));
    const slowWrite = writeRoom(t.hs, slowRoom, async (room) => {
      const row = await appendEvent(t.hs, room, alice.userId, { type: 'm.room.encrypted', content: megolm('slow') });
      tookPosition(row);
      await gate;
      return row;
    });
    const slow = await taken;
    expect(slow.streamPos).toBeGreaterThan(parseStreamToken(s0));

    // A second writer, in another room (so no room lock is shared), through HTTP.
    const fastSend = t.http.put(`${V3}/rooms/${encodeURIComponent(fastRoom)}/send/m.room.encrypted/fast1`).set(alice.auth).send(megolm('fast')).then((r) => r);
    // It blocks on the stream head's row lock: PostgreSQL shows a backend waiting on a lock in that UPDATE.
    await until('the second writer to wait on the stream head', async () => {
      const rows = await t.hs.sql`
        SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE stream_head SET pos%'`;
      return rows.length > 0;
    });

    // Meanwhile a sync reads up to the watermark, which is below the slow transaction's position: neither event.
    const during = await sync({ since: s0 });
    const w1 = parseStreamToken(during.body.next_batch);
    expect(w1).toBeLessThan(slow.streamPos);
    expect(delivered(during.body)).toEqual([]);
    const [committedHead] = await t.hs.sql<{ pos: number }[]>`SELECT pos FROM stream_head`;
    expect(committedHead.pos).toBeLessThan(slow.streamPos);

    // A long-poll from the same point is waiting when the slow transaction commits: the commit wakes it.
    const before = t.hs.notifier.waiting();
    const poll = sync({ since: during.body.next_batch, timeout: 20_000 });
    await until('the long-poll to register', () => t.hs.notifier.waiting() > before);
    release();
    await slowWrite;
    const fastRes = await fastSend;
    expect(fastRes.status).toBe(200);
    const fastId: string = fastRes.body.event_id;

    // The fast writer got its position only after the slow one committed: commits happen in position order.
    const [fastRow] = await t.hs.sql<{ streamPos: number }[]>`SELECT stream_pos FROM events WHERE event_id = ${fastId}`;
    expect(fastRow.streamPos).toBeGreaterThan(slow.streamPos);

    const woken = await poll;
    expect(delivered(woken.body)).toContainEqual({ roomId: slowRoom, eventId: slow.eventId });
    // Whatever the poll did not carry, the next incremental sync does; together: both events, once each.
    const next = await sync({ since: woken.body.next_batch });
    const all = [...delivered(woken.body), ...delivered(next.body)];
    expect(all.map((d) => d.eventId).sort()).toEqual([slow.eventId, fastId].sort());
    expect(all).toContainEqual({ roomId: fastRoom, eventId: fastId });
    // And the stream is then quiet.
    const quiet = await sync({ since: next.body.next_batch });
    expect(delivered(quiet.body)).toEqual([]);
    expect(parseStreamToken(next.body.next_batch)).toBeGreaterThanOrEqual(fastRow.streamPos);
  });

  test('a position taken in a transaction that rolls back is skipped without loss', async () => {
    const s0 = (await sync({})).body.next_batch as string;
    const failed = writeRoom(t.hs, slowRoom, async (room) => {
      await appendEvent(t.hs, room, alice.userId, { type: 'm.room.encrypted', content: megolm('rolled-back') });
      throw new Error('abort');
    });
    await expect(failed).rejects.toThrow('abort');
    const sent = await t.http.put(`${V3}/rooms/${encodeURIComponent(slowRoom)}/send/m.room.encrypted/after-rollback`).set(alice.auth).send(megolm('kept'));
    expect(sent.status).toBe(200);
    const res = await sync({ since: s0 });
    expect(delivered(res.body)).toEqual([{ roomId: slowRoom, eventId: sent.body.event_id }]);
  });
});

describe('two server processes on one database', () => {
  let database: TestDatabase;
  // Process B runs in this jest process (so the test can see its notifier) with its own pool and notifier; process A
  // is a real server process. A write through A reaches B's long-poll only through PostgreSQL LISTEN/NOTIFY.
  let dbB: Database;
  let hsB: Hs;
  let serverB: Server;

  beforeAll(async () => {
    database = await createTestDatabase();
    dbB = connectPostgres(database.url, TEST_POOL_SIZE);
    hsB = await createHs(testConfig(), dbB);
    serverB = buildApp(hsB).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => serverB.once('listening', resolve));
  });
  afterEach(() => killAll());
  afterAll(async () => {
    const closed = new Promise<void>((resolve) => serverB.close(() => resolve()));
    await hsB.notifier.close();
    await closed;
    await dbB.close();
    await database.drop();
  });

  async function startA(): Promise<string> {
    const port = await freePort();
    const proc = spawnServer({ DATABASE_URL: database.url, PORT: String(port), SERVER_NAME: 'test.local' });
    await proc.waitForLine(/SecureComm listening on/, 60_000);
    return `http://127.0.0.1:${port}`;
  }

  async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${base}${V3}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  async function register(base: string, username: string): Promise<{ userId: string; token: string }> {
    const password = 'correct horse battery staple';
    const first = await call(base, 'POST', '/register', undefined, { username, password });
    const res = await call(base, 'POST', '/register', undefined, { username, password, auth: { type: 'm.login.dummy', session: first.body.session } });
    expect(res.status).toBe(200);
    return { userId: res.body.user_id, token: res.body.access_token };
  }

  test('a long-poll on process B is woken by a message sent through process A', async () => {
    const a = await startA();
    const b = `http://127.0.0.1:${(serverB.address() as AddressInfo).port}`;
    const alice = await register(a, 'alice');
    const bob = await register(b, 'bob');
    const created = await call(a, 'POST', '/createRoom', alice.token, { preset: 'public_chat' });
    expect(created.status).toBe(200);
    const roomId: string = created.body.room_id;
    expect((await call(b, 'POST', `/join/${encodeURIComponent(roomId)}`, bob.token, {})).status).toBe(200);
    const initial = await call(b, 'GET', '/sync', bob.token);
    expect(initial.status).toBe(200);
    const since: string = initial.body.next_batch;

    // Bob long-polls on B; once B's notifier holds his listener, the poll has read and found nothing new.
    const before = hsB.notifier.waiting();
    const poll = call(b, 'GET', `/sync?since=${encodeURIComponent(since)}&timeout=30000`, bob.token);
    await until('the long-poll on B to register', () => hsB.notifier.waiting() > before);
    const sent = await call(a, 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/cross1`, alice.token, megolm('cross'));
    expect(sent.status).toBe(200);
    const res = await poll;
    expect(res.status).toBe(200);
    expectValidResponseById('sync', 200, res.body);
    expect(res.body.rooms.join[roomId].timeline.events.map((e: Ev) => e.event_id)).toEqual([sent.body.event_id]);
  }, 120_000);
});
