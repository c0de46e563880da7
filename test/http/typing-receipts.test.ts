/**
 * Typing notifications, receipts and read markers over HTTP: delivery in /sync's ephemeral events, who may send
 * what, private and threaded receipts, unread counts, long-polls woken by both; and typing across two processes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Server } from 'node:http';
import request from 'supertest';
import { registerUser, startTestServer, testConfig, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3, type Agent } from '../support/rooms.js';
import { buildApp } from '../../src/app.js';
import { createHs, type Hs } from '../../src/hs.js';
import { connectPostgres, type Database } from '../../src/db/database.js';
import { createTestDatabase, TEST_POOL_SIZE, type TestDatabase } from '../support/db.js';
import { parseSyncToken } from '../../src/relay/sync/token.js';


type Body = Record<string, any>;
interface Eph {
  type: string;
  content: Record<string, any>;
}

/** Bounded polling on a condition (no sleeps): yields to the event loop between checks. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Helpers over one server (an agent and the server's Hs). */
function client(agent: () => Agent, hs: () => Hs) {
  const rooms = roomHelpers(agent);
  const h = {
    sync: rooms.sync,
    /** A long-poll that has registered its listener (so it has read and found nothing new) before this resolves. */
    async longPoll(u: TestUser, since: string, timeout = 20_000): Promise<{ result: Promise<Body> }> {
      const before = hs().notifier.waiting();
      const result = h.sync(u, { since, timeout });
      await until('the long-poll to register', () => hs().notifier.waiting() > before);
      return { result };
    },
    send: (u: TestUser, roomId: string, extra: Record<string, unknown> = {}) => rooms.send(u, roomId, '', extra),
    typing: (u: TestUser, roomId: string, body: Record<string, unknown>, userId = u.userId) =>
      agent().put(`${V3}/rooms/${enc(roomId)}/typing/${enc(userId)}`).set(u.auth).send(body),
    receipt: (u: TestUser, roomId: string, type: string, eventId: string, body: Record<string, unknown> = {}) =>
      agent().post(`${V3}/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`).set(u.auth).send(body),
    markers: (u: TestUser, roomId: string, body: Record<string, unknown>) => agent().post(`${V3}/rooms/${enc(roomId)}/read_markers`).set(u.auth).send(body),
    async room(u: TestUser, others: TestUser[]): Promise<string> {
      const roomId = await rooms.createRoom(u, { preset: 'public_chat' });
      for (const o of others) await rooms.join(o, roomId);
      return roomId;
    },
  };
  return h;
}

const ephemeralOf = (body: Body, roomId: string): Eph[] => body.rooms.join[roomId]?.ephemeral?.events ?? [];
const typingOf = (body: Body, roomId: string): string[] | undefined => ephemeralOf(body, roomId).find((e) => e.type === 'm.typing')?.content.user_ids;
const receiptOf = (body: Body, roomId: string): Record<string, any> | undefined => ephemeralOf(body, roomId).find((e) => e.type === 'm.receipt')?.content;
const unreadOf = (body: Body, roomId: string): number => body.rooms.join[roomId].unread_notifications.notification_count;

describe('one process', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let h: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestServer();
    h = client(() => t.http, () => t.hs);
    alice = await registerUser(t, 'alice');
    bob = await registerUser(t, 'bob');
    carol = await registerUser(t, 'carol');
  });
  afterAll(() => t.close());

  describe('typing', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await h.room(alice, [bob]);
    });

    test('start and stop reach the room once each; sync tokens carry the typing position', async () => {
      const s0 = (await h.sync(bob)).next_batch;
      expect((await h.typing(alice, roomId, { typing: true, timeout: 30_000 })).status).toBe(200);
      const started = await h.sync(bob, { since: s0 });
      expect(typingOf(started, roomId)).toEqual([alice.userId]);
      expect(parseSyncToken(started.next_batch).typing).toEqual(expect.any(Number));
      // Nothing changed since: no m.typing, and the room is not in the response.
      const quiet = await h.sync(bob, { since: started.next_batch });
      expect(quiet.rooms.join[roomId]).toBeUndefined();
      // A renewal is not a change.
      expect((await h.typing(alice, roomId, { typing: true, timeout: 30_000 })).status).toBe(200);
      expect((await h.sync(bob, { since: started.next_batch })).rooms.join[roomId]).toBeUndefined();
      // An initial sync shows who is typing now.
      expect(typingOf(await h.sync(bob), roomId)).toEqual([alice.userId]);

      expect((await h.typing(alice, roomId, { typing: false })).status).toBe(200);
      const stopped = await h.sync(bob, { since: started.next_batch });
      expect(typingOf(stopped, roomId)).toEqual([]);
      expect((await h.sync(bob, { since: stopped.next_batch })).rooms.join[roomId]).toBeUndefined();
    });

    test('a long-poll wakes when someone starts typing, and again when the timeout passes', async () => {
      const s0 = (await h.sync(bob)).next_batch;
      const poll = await h.longPoll(bob, s0);
      expect((await h.typing(alice, roomId, { typing: true, timeout: 300 })).status).toBe(200);
      const started = await poll.result;
      expect(typingOf(started, roomId)).toEqual([alice.userId]);
      // The timeout ends the typing without a request: the waiting long-poll hears of it (bounded by its own timeout).
      const expired = await (await h.longPoll(bob, started.next_batch)).result;
      expect(typingOf(expired, roomId)).toEqual([]);
    });

    test('tokens without a typing part are still accepted', async () => {
      const pos = parseSyncToken((await h.sync(bob)).next_batch).pos;
      const res = await h.sync(bob, { since: `s${pos}` });
      expect(res.next_batch).toMatch(/^s\d+(_\d+)?_t\d+$/);
    });

    test('only for oneself, only in joined rooms, with a boolean', async () => {
      const other = await h.typing(alice, roomId, { typing: true, timeout: 1000 }, bob.userId);
      expect(other.status).toBe(403);
      expect(other.body.errcode).toBe('M_FORBIDDEN');
      const notJoined = await h.typing(carol, roomId, { typing: true, timeout: 1000 });
      expect(notJoined.status).toBe(403);
      expect(notJoined.body.errcode).toBe('M_FORBIDDEN');
      const bad = await h.typing(alice, roomId, { typing: 'yes' });
      expect(bad.status).toBe(400);
      const missing = await h.typing(alice, roomId, {});
      expect(missing.status).toBe(400);
    });
  });

  describe('receipts and read markers', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = await h.room(alice, [bob]);
    });

    test('m.read reaches the room; a long-poll wakes for it; unknown events are 404; strangers 403', async () => {
      const event = await h.send(alice, roomId);
      const s0 = (await h.sync(alice)).next_batch;
      const poll = await h.longPoll(alice, s0);
      expect((await h.receipt(bob, roomId, 'm.read', event)).status).toBe(200);
      const woken = await poll.result;
      const content = receiptOf(woken, roomId)!;
      expect(content[event]['m.read'][bob.userId]).toEqual({ ts: expect.any(Number) });
      expect(content[event]['m.read'][bob.userId].thread_id).toBeUndefined();

      const unknown = await h.receipt(bob, roomId, 'm.read', '$nosuchevent');
      expect(unknown.status).toBe(404);
      expect(unknown.body.errcode).toBe('M_NOT_FOUND');
      const stranger = await h.receipt(carol, roomId, 'm.read', event);
      expect(stranger.status).toBe(403);
      const badType = await h.receipt(bob, roomId, 'm.unread', event);
      expect(badType.status).toBe(400);
    });

    test('m.read.private reaches only the user, and wakes their own long-poll', async () => {
      const event = await h.send(alice, roomId);
      const aliceSince = (await h.sync(alice)).next_batch;
      const bobSince = (await h.sync(bob)).next_batch;
      const poll = await h.longPoll(bob, bobSince);
      expect((await h.receipt(bob, roomId, 'm.read.private', event)).status).toBe(200);
      const own = await poll.result;
      expect(receiptOf(own, roomId)![event]['m.read.private'][bob.userId]).toEqual({ ts: expect.any(Number) });
      // Alice sees nothing of it, now or in an initial sync.
      expect((await h.sync(alice, { since: aliceSince })).rooms.join[roomId]).toBeUndefined();
      const initial = await h.sync(alice);
      expect(JSON.stringify(receiptOf(initial, roomId) ?? {})).not.toContain('m.read.private');
      expect(receiptOf(await h.sync(bob), roomId)![event]['m.read.private'][bob.userId]).toBeDefined();
    });

    test('threaded receipts carry thread_id; a receipt outside its thread, or an empty thread_id, is 400', async () => {
      const root = await h.send(alice, roomId);
      const inThread = await h.send(alice, roomId, { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
      const s0 = (await h.sync(alice)).next_batch;
      expect((await h.receipt(bob, roomId, 'm.read', inThread, { thread_id: root })).status).toBe(200);
      expect((await h.receipt(bob, roomId, 'm.read', root, { thread_id: 'main' })).status).toBe(200);
      const res = await h.sync(alice, { since: s0 });
      const content = receiptOf(res, roomId)!;
      expect(content[inThread]['m.read'][bob.userId]).toEqual({ ts: expect.any(Number), thread_id: root });
      expect(content[root]['m.read'][bob.userId]).toEqual({ ts: expect.any(Number), thread_id: 'main' });

      const wrongThread = await h.receipt(bob, roomId, 'm.read', inThread, { thread_id: 'main' });
      expect(wrongThread.status).toBe(400);
      expect(wrongThread.body.errcode).toBe('M_INVALID_PARAM');
      expect((await h.receipt(bob, roomId, 'm.read', inThread, { thread_id: '' })).status).toBe(400);
      expect((await h.receipt(bob, roomId, 'm.read', inThread, { thread_id: 7 })).status).toBe(400);
      expect((await h.receipt(bob, roomId, 'm.fully_read', inThread, { thread_id: root })).status).toBe(400);
    });

    test('read markers: m.fully_read becomes room account data; m.read and m.read.private are receipts', async () => {
      const first = await h.send(alice, roomId);
      const second = await h.send(alice, roomId);
      const s0 = (await h.sync(bob)).next_batch;
      expect((await h.markers(bob, roomId, { 'm.fully_read': first, 'm.read': second, 'm.read.private': second })).status).toBe(200);
      const res = await h.sync(bob, { since: s0 });
      const room = res.rooms.join[roomId];
      expect(room.account_data.events).toContainEqual({ type: 'm.fully_read', content: { event_id: first } });
      const content = receiptOf(res, roomId)!;
      expect(Object.keys(content[second]).sort()).toEqual(['m.read', 'm.read.private']);
      // m.fully_read through /receipt, too; never under m.receipt.
      expect((await h.receipt(bob, roomId, 'm.fully_read', second)).status).toBe(200);
      const marker = await t.http.get(`${V3}/user/${enc(bob.userId)}/rooms/${enc(roomId)}/account_data/m.fully_read`).set(bob.auth);
      expect(marker.status).toBe(200);
      expect(marker.body).toEqual({ event_id: second });
      expect((await h.markers(bob, roomId, { 'm.fully_read': '$unknown' })).status).toBe(404);
    });

    test('receipts only move forward', async () => {
      const older = await h.send(alice, roomId);
      const newer = await h.send(alice, roomId);
      expect((await h.receipt(bob, roomId, 'm.read', newer)).status).toBe(200);
      const s0 = (await h.sync(alice)).next_batch;
      expect((await h.receipt(bob, roomId, 'm.read', older)).status).toBe(200);
      expect((await h.sync(alice, { since: s0 })).rooms.join[roomId]).toBeUndefined();
    });
  });

  describe('unread notifications', () => {
    test("count others' messages after the latest m.read / m.read.private, and go down with receipts", async () => {
      const roomId = await h.room(alice, [bob]);
      expect(unreadOf(await h.sync(bob), roomId)).toBe(0);
      const sent = [await h.send(alice, roomId), await h.send(alice, roomId), await h.send(alice, roomId)];
      await h.send(bob, roomId); // one's own messages never count
      expect(unreadOf(await h.sync(bob), roomId)).toBe(3);
      expect(unreadOf(await h.sync(alice), roomId)).toBe(1);

      const s0 = (await h.sync(bob)).next_batch;
      expect((await h.receipt(bob, roomId, 'm.read', sent[1])).status).toBe(200);
      const after = await h.sync(bob, { since: s0 });
      expect(unreadOf(after, roomId)).toBe(1);
      // A threaded receipt on a thread does not clear the main count; a private receipt does.
      expect((await h.receipt(bob, roomId, 'm.read.private', sent[2])).status).toBe(200);
      expect(unreadOf(await h.sync(bob, { since: after.next_batch }), roomId)).toBe(0);
    });
  });
});

describe('typing across two processes on one database', () => {
  let database: TestDatabase;
  const apps: { db: Database; hs: Hs; server: Server; agent: Agent }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const db = connectPostgres(database.url, TEST_POOL_SIZE);
      const hs = await createHs(testConfig(), db);
      const server = buildApp(hs).listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      apps.push({ db, hs, server, agent: request(server) });
    }
  });
  afterAll(async () => {
    for (const app of apps) {
      const closed = new Promise<void>((resolve) => app.server.close(() => resolve()));
      await app.hs.notifier.close();
      await app.hs.typing.close();
      await closed;
      await app.db.close();
    }
    await database.drop();
  });

  test('typing set through process A reaches a long-poll on process B, and so does the stop', async () => {
    const [a, b] = apps;
    const onA = client(() => a.agent, () => a.hs);
    const onB = client(() => b.agent, () => b.hs);
    const asServer = { http: a.agent } as unknown as TestServer;
    const alice = await registerUser(asServer, 'alice2');
    const bob = await registerUser(asServer, 'bob2');
    const roomId = await onA.room(alice, [bob]);

    const s0 = (await onB.sync(bob)).next_batch;
    const poll = await onB.longPoll(bob, s0);
    expect((await onA.typing(alice, roomId, { typing: true, timeout: 60_000 })).status).toBe(200);
    const started = await poll.result;
    expect(typingOf(started, roomId)).toEqual([alice.userId]);

    const stopPoll = await onB.longPoll(bob, started.next_batch);
    expect((await onA.typing(alice, roomId, { typing: false })).status).toBe(200);
    expect(typingOf(await stopPoll.result, roomId)).toEqual([]);
    // B's in-memory state agrees, and nothing of it is in the database.
    expect(b.hs.typing.room(roomId)?.userIds).toEqual([]);
  }, 60_000);
});
