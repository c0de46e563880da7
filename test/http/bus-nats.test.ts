/**
 * The NATS bus (BUS_URL): two server processes on one database share wakes and typing through NATS, and the database
 * sees no LISTEN; when the bus is lost, /ready says so (503, bus check failed), and when it is back every long-poll is
 * woken and reads again from the watermark, so a write whose wake was lost meanwhile is delivered.
 * Uses the machine's NATS (127.0.0.1:4222, as in CI) with a prefix of its own, and a private nats-server for the outage.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { registerUser, startSecondServer, type SecondServer, type TestUser } from '../support/server.js';
import { roomHelpers, V3, type Agent } from '../support/rooms.js';
import { expectValidResponseById } from '../support/spec.js';
import { busPrefix, NATS_URL, startPrivateNats, type PrivateNats } from '../support/nats.js';
import { freePort } from '../support/ports.js';

/** Polls `check` every 25 ms until it holds (at most `ms`). */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const enc = encodeURIComponent;

/** A long-poll that has not answered yet, and its answer. */
function longPoll(http: Agent, user: TestUser, since: string, timeoutMs = 20_000) {
  const started = Date.now();
  return http
    .get(`${V3}/sync`)
    .query({ since, timeout: timeoutMs })
    .set(user.auth)
    .then((res) => ({ status: res.status, body: res.body, ms: Date.now() - started }));
}

describe('two processes on one database with BUS_URL', () => {
  let database: TestDatabase;
  let a: SecondServer;
  let b: SecondServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    const bus = { databaseUrl: database.url, busUrl: NATS_URL, busPrefix: busPrefix() };
    a = await startSecondServer(database.url, bus);
    b = await startSecondServer(database.url, bus);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  test('wakes and typing cross through NATS; the database sees no LISTEN', async () => {
    expect(a.hs.bus?.kind).toBe('nats');
    const onA = roomHelpers(() => a.http);
    const alice = await registerUser(a, 'alice');
    const bob = await registerUser(b, 'bob');
    const roomId = await onA.createRoom(alice, { preset: 'public_chat' });
    await roomHelpers(() => b.http).join(bob, roomId);
    const first = await roomHelpers(() => b.http).sync(bob);

    // A message sent through A wakes Bob's long-poll on B.
    const poll = longPoll(b.http, bob, first.next_batch);
    await until('the poll to wait on B', () => b.hs.notifier.waiting() === 1);
    const eventId = await onA.send(alice, roomId, 1);
    const woken = await poll;
    expect(woken.status).toBe(200);
    expectValidResponseById('sync', 200, woken.body);
    expect(woken.body.rooms.join[roomId].timeline.events.map((e: { event_id: string }) => e.event_id)).toContain(eventId);
    expect(woken.ms).toBeLessThan(10_000);
    expect(b.hs.notifier.stats().remoteKeys).toBeGreaterThan(0);

    // Typing set through A reaches Bob's next long-poll on B.
    const typingPoll = longPoll(b.http, bob, woken.body.next_batch);
    await until('the poll to wait on B', () => b.hs.notifier.waiting() === 1);
    const typed = await a.http.put(`${V3}/rooms/${enc(roomId)}/typing/${enc(alice.userId)}`).set(alice.auth).send({ typing: true, timeout: 30_000 });
    expect(typed.status).toBe(200);
    const typing = await typingPoll;
    expect(typing.status).toBe(200);
    const ephemeral = typing.body.rooms.join[roomId].ephemeral.events as { type: string; content: { user_ids: string[] } }[];
    expect(ephemeral.find((e) => e.type === 'm.typing')?.content.user_ids).toEqual([alice.userId]);

    // Nothing of it went through PostgreSQL: no LISTEN session on this database.
    const [{ n }] = await database.db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen %'`;
    expect(n).toBe(0);
  }, 60_000);
});

describe('a NATS outage', () => {
  let database: TestDatabase;
  let nats: PrivateNats;
  let onBus: SecondServer;
  /** A process on LISTEN/NOTIFY: its wakes never reach the NATS processes, like a wake lost in the outage. */
  let unheard: SecondServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    nats = await startPrivateNats();
    onBus = await startSecondServer(database.url, { databaseUrl: database.url, busUrl: nats.url, busPrefix: busPrefix(), metricsToken: 'metrics-token-for-the-bus-test' });
    unheard = await startSecondServer(database.url);
  }, 60_000);
  afterAll(async () => {
    await onBus?.close();
    await unheard?.close();
    await nats?.kill();
    await database?.drop();
  });

  test('/ready fails while the bus is away; when it is back every long-poll is woken and misses nothing', async () => {
    const ready = async () => {
      const res = await onBus.http.get('/ready');
      expectValidResponseById('getReady', res.status as 200 | 503, res.body);
      return res;
    };
    expect((await ready()).status).toBe(200);
    const alice = await registerUser(unheard, 'alice');
    const bob = await registerUser(onBus, 'bob');
    const roomId = await roomHelpers(() => unheard.http).createRoom(alice, { preset: 'public_chat' });
    await roomHelpers(() => onBus.http).join(bob, roomId);
    const first = await roomHelpers(() => onBus.http).sync(bob);
    const poll = longPoll(onBus.http, bob, first.next_batch, 60_000);
    await until('the poll to wait', () => onBus.hs.notifier.waiting() === 1);

    await nats.kill();
    await until('the client to notice', () => onBus.hs.bus?.connected() === false);
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('Not ready: bus check failed.');
    expect(down.headers['retry-after']).toBeDefined();
    expect((await onBus.hs.metrics!.scrape()).body).toMatch(/^securecomm_bus_connected 0$/m);

    // A message whose wake Bob's process never hears.
    const eventId = await roomHelpers(() => unheard.http).send(alice, roomId, 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(onBus.hs.notifier.waiting()).toBe(1);

    const restarted = Date.now();
    await nats.start();
    const woken = await poll;
    expect(woken.status).toBe(200);
    expect(woken.body.rooms.join[roomId].timeline.events.map((e: { event_id: string }) => e.event_id)).toContain(eventId);
    expect(Date.now() - restarted).toBeLessThan(15_000);
    expect(onBus.hs.notifier.stats().reconnects).toBe(1);
    expect((await ready()).status).toBe(200);
    const metrics = (await onBus.hs.metrics!.scrape()).body;
    expect(metrics).toMatch(/^securecomm_bus_connected 1$/m);
    expect(metrics).toMatch(/^securecomm_bus_reconnects_total 1$/m);
  }, 90_000);
});

test('a process that cannot reach the bus at start-up does not start, and says where without the credentials', async () => {
  const database = await createTestDatabase();
  try {
    const port = await freePort();
    const started = Date.now();
    await expect(startSecondServer(database.url, { databaseUrl: database.url, busUrl: `nats://someone:s3cret@127.0.0.1:${port}`, busPrefix: busPrefix() })).rejects.toThrow(
      new RegExp(`^cannot reach the bus at nats://127\\.0\\.0\\.1:${port}: (?!.*s3cret)`),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    await database.drop();
  }
}, 30_000);
