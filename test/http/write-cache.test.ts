/**
 * The caches of the send path must never change what a request gets. The room state cache (keyed by the room's
 * head) is checked with two server instances on one database, where a state change through one must bind the next
 * send through the other, with state changes that roll back, redacted state events and a room deleted without
 * anyone left to leave. Then the write order itself (concurrent senders on both instances: linear history,
 * positions in depth order), txn retries, and the stored-filter cache.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type request from 'supertest';
import { registerUser, startSecondServer, startTestServer, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import type { Hs } from '../../src/hs.js';
import { appendEvent, currentStateOf, writeRoom } from '../../src/relay/rooms/append.js';
import { getFilter } from '../../src/relay/stored-filters.js';
import { enc, megolm, MEGOLM_ALGORITHM, roomHelpers, V3 } from '../support/rooms.js';

const ADMIN = '/_securecomm/admin/v1';

type Http = ReturnType<typeof request>;
let t: TestServer;
/** Instance A is t (t.http, t.hs); instance B has its own pool, notifier and caches on the same database. */
let b: SecondServer;
let hsB: Hs;
let httpA: Http;
let httpB: Http;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let txn = 0;

beforeAll(async () => {
  t = await startTestServer();
  httpA = t.http;
  b = await startSecondServer(t.database.url);
  ({ hs: hsB, http: httpB } = b);
  [alice, bob, carol] = [await registerUser(t), await registerUser(t), await registerUser(t)];
});
afterAll(async () => {
  await b.close();
  await t.close();
});

const createRoom = (http: Http, user: TestUser, body: Record<string, unknown> = { preset: 'public_chat' }) => roomHelpers(() => http).createRoom(user, body);
const send = (http: Http, user: TestUser, roomId: string, id = `t${++txn}`) =>
  http.put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/${enc(id)}`).set(user.auth).send(megolm(id));
const putState = (http: Http, user: TestUser, roomId: string, type: string, content: Record<string, unknown>, stateKey = '') =>
  http.put(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}${stateKey ? `/${enc(stateKey)}` : ''}`).set(user.auth).send(content);
const post = (http: Http, user: TestUser, path: string, body: Record<string, unknown> = {}) => http.post(`${V3}${path}`).set(user.auth).send(body);
const redact = (http: Http, user: TestUser, roomId: string, eventId: string) =>
  http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(eventId)}/r${++txn}`).set(user.auth).send({});
async function expectStatus(res: Promise<{ status: number; body: unknown }> | { status: number; body: unknown }, status: number): Promise<void> {
  const r = await res;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
}
async function stateEventId(roomId: string, type: string): Promise<string> {
  const [row] = await t.hs.sql<{ eventId: string }[]>`SELECT event_id FROM current_state WHERE room_id = ${roomId} AND type = ${type} AND state_key = ''`;
  return row.eventId;
}
/** The cache lookups `hs` made while `fn` ran. */
async function lookups(hs: Hs, fn: () => Promise<unknown>): Promise<{ hits: number; misses: number }> {
  const before = { ...hs.roomStates.stats };
  await fn();
  return { hits: hs.roomStates.stats.hits - before.hits, misses: hs.roomStates.stats.misses - before.misses };
}

describe('the room state cache, two instances on one database', () => {
  test('a power level change and a ban made through A bind the next send through B', async () => {
    const roomId = await createRoom(httpA, alice);
    await expectStatus(post(httpB, bob, `/join/${enc(roomId)}`), 200);
    await expectStatus(send(httpB, bob, roomId), 200);
    // B now serves the room's state from its cache.
    expect(await lookups(hsB, () => expectStatus(send(httpB, bob, roomId), 200))).toEqual({ hits: 1, misses: 0 });

    const levels = (await httpA.get(`${V3}/rooms/${enc(roomId)}/state/m.room.power_levels`).set(alice.auth)).body;
    await expectStatus(putState(httpA, alice, roomId, 'm.room.power_levels', { ...levels, events_default: 50 }), 200);
    expect(await lookups(hsB, () => expectStatus(send(httpB, bob, roomId), 403))).toEqual({ hits: 0, misses: 1 });
    await expectStatus(send(httpB, bob, roomId), 403); // now from B's cache, which holds the new levels
    await expectStatus(putState(httpA, alice, roomId, 'm.room.power_levels', levels), 200);
    await expectStatus(send(httpB, bob, roomId), 200);

    await expectStatus(post(httpA, alice, `/rooms/${enc(roomId)}/ban`, { user_id: bob.userId }), 200);
    await expectStatus(send(httpB, bob, roomId), 403);
    await expectStatus(post(httpB, bob, `/join/${enc(roomId)}`), 403);
    await expectStatus(post(httpA, alice, `/rooms/${enc(roomId)}/unban`, { user_id: bob.userId }), 200);
    await expectStatus(post(httpB, bob, `/join/${enc(roomId)}`), 200);
    await expectStatus(send(httpB, bob, roomId), 200);
  });

  test('a room deleted through A, with nobody left to leave, cannot be joined through B', async () => {
    const roomId = await createRoom(httpA, alice);
    await expectStatus(post(httpB, bob, `/join/${enc(roomId)}`), 200);
    await expectStatus(post(httpB, bob, `/rooms/${enc(roomId)}/leave`), 200);
    await expectStatus(post(httpB, alice, `/rooms/${enc(roomId)}/leave`), 200);
    // B holds the state at the room's head (alice's leave); deleting the room appends no event.
    expect(await lookups(hsB, () => expectStatus(post(httpB, alice, `/rooms/${enc(roomId)}/leave`), 403))).toEqual({ hits: 1, misses: 0 });
    await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${carol.userId}`;
    const deleted = await httpA.delete(`${ADMIN}/rooms/${enc(roomId)}`).set(carol.auth);
    expect(deleted.status).toBe(200);
    expect(deleted.body.removed_members).toEqual([]);
    await t.hs.sql`UPDATE users SET is_admin = false WHERE user_id = ${carol.userId}`;

    await expectStatus(post(httpB, bob, `/join/${enc(roomId)}`), 403);
    await expectStatus(post(httpA, bob, `/join/${enc(roomId)}`), 403);
    await expectStatus(post(httpB, carol, `/join/${enc(roomId)}`), 403);
    expect(await t.hs.sql`SELECT 1 FROM events WHERE room_id = ${roomId} AND type <> 'm.room.member'`).toHaveLength(0);
  });

  test('a retried txn returns the first event id through either instance, also after the sender left', async () => {
    const roomId = await createRoom(httpA, alice);
    await expectStatus(post(httpA, bob, `/join/${enc(roomId)}`), 200);
    const first = await send(httpA, bob, roomId, 'retried');
    expect(first.status).toBe(200);
    await expectStatus(post(httpB, bob, `/rooms/${enc(roomId)}/leave`), 200);
    for (const http of [httpA, httpB]) {
      const again = await send(http, bob, roomId, 'retried');
      expect(again.status).toBe(200);
      expect(again.body.event_id).toBe(first.body.event_id);
    }
    expect(await t.hs.sql`SELECT 1 FROM events WHERE room_id = ${roomId} AND type = 'm.room.encrypted'`).toHaveLength(1);
    // Racing retries of a new txn write one event.
    await expectStatus(post(httpA, bob, `/join/${enc(roomId)}`), 200);
    const racing = await Promise.all([httpA, httpB, httpA, httpB].map((http) => send(http, bob, roomId, 'raced')));
    expect(new Set(racing.map((r) => `${r.status} ${r.body.event_id}`)).size).toBe(1);
    expect(racing[0].status).toBe(200);
    expect(await t.hs.sql`SELECT 1 FROM events WHERE room_id = ${roomId} AND type = 'm.room.encrypted'`).toHaveLength(2);
  });
});

describe('the room state cache and failed or unusual writes', () => {
  test('a state change that rolls back leaves the cached state as it was', async () => {
    const roomId = await createRoom(httpA, alice);
    await expectStatus(post(httpA, bob, `/join/${enc(roomId)}`), 200);
    await expectStatus(send(httpA, bob, roomId), 200);

    const failed = writeRoom(t.hs, roomId, async (room) => {
      await appendEvent(t.hs, room, alice.userId, { type: 'm.room.member', state_key: bob.userId, content: { membership: 'ban' } });
      expect(currentStateOf(room, 'm.room.member', bob.userId)?.content.membership).toBe('ban');
      throw new Error('abort');
    });
    await expect(failed).rejects.toThrow('abort');
    // The same head as before, served from the cache: bob is still joined.
    expect(await lookups(t.hs, () => expectStatus(send(httpA, bob, roomId), 200))).toEqual({ hits: 1, misses: 0 });

    // A state event the auth rules refuse changes nothing either.
    await expectStatus(putState(httpA, bob, roomId, 'm.room.join_rules', { join_rule: 'invite' }), 403);
    expect(await lookups(t.hs, () => expectStatus(post(httpA, carol, `/join/${enc(roomId)}`), 200))).toEqual({ hits: 1, misses: 0 });
    await expectStatus(send(httpA, carol, roomId), 200);
  });

  test('a redacted power levels event (room version 10 drops its invite level) binds the next invite', async () => {
    const roomId = await createRoom(httpA, alice, { preset: 'public_chat', room_version: '10', power_level_content_override: { invite: 50 } });
    const dave = await registerUser(t);
    const erin = await registerUser(t);
    await expectStatus(post(httpA, bob, `/join/${enc(roomId)}`), 200);
    await expectStatus(post(httpA, bob, `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId }), 403);
    await expectStatus(post(httpB, bob, `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId }), 403);

    await expectStatus(redact(httpA, alice, roomId, await stateEventId(roomId, 'm.room.power_levels')), 200);
    // A remembered the state after its redaction; B reads it again (the head moved).
    expect(await lookups(t.hs, () => expectStatus(post(httpA, bob, `/rooms/${enc(roomId)}/invite`, { user_id: dave.userId }), 200))).toEqual({ hits: 1, misses: 0 });
    await expectStatus(post(httpB, bob, `/rooms/${enc(roomId)}/invite`, { user_id: erin.userId }), 200);
  });

  test('a redacted state event is what the next one replaces (prev_content) and what the policy compares with', async () => {
    const roomId = await createRoom(httpA, alice);
    await expectStatus(putState(httpA, alice, roomId, 'm.room.name', { name: 'secret name' }), 200);
    await expectStatus(redact(httpA, alice, roomId, await stateEventId(roomId, 'm.room.name')), 200);
    const renamed = await putState(httpA, alice, roomId, 'm.room.name', { name: 'new name' });
    expect(renamed.status).toBe(200);
    const event = await httpA.get(`${V3}/rooms/${enc(roomId)}/event/${enc(renamed.body.event_id)}`).set(alice.auth);
    expect(event.status).toBe(200);
    expect(event.body.unsigned.prev_content).toEqual({});

    // The encryption event, once redacted, has empty content: setting it again is a change, refused alike on both.
    await expectStatus(putState(httpA, alice, roomId, 'm.room.encryption', { algorithm: MEGOLM_ALGORITHM }), 200);
    await expectStatus(redact(httpA, alice, roomId, await stateEventId(roomId, 'm.room.encryption')), 200);
    for (const http of [httpA, httpB]) await expectStatus(putState(http, alice, roomId, 'm.room.encryption', { algorithm: MEGOLM_ALGORITHM }), 403);
  });
});

describe('the write order', () => {
  test('concurrent senders on both instances: linear history, consecutive depths, positions in depth order', async () => {
    const roomId = await createRoom(httpA, alice, { preset: 'public_chat', name: 'busy', topic: 'many state events at creation', power_level_content_override: { state_default: 0 } });
    const senders = [alice, bob, carol];
    for (const u of [bob, carol]) await expectStatus(post(httpB, u, `/join/${enc(roomId)}`), 200);
    await Promise.all(
      senders.flatMap((u, i) => [httpA, httpB].map(async (http, j) => {
        for (let k = 0; k < 8; k++) {
          await expectStatus(k % 4 === 3 ? putState(http, u, roomId, 'm.room.topic', { topic: `${i}-${j}-${k}` }) : send(http, u, roomId, `c${i}-${j}-${k}-${txn}`), 200);
        }
      })),
    );
    const events = await t.hs.sql<{ eventId: string; depth: number; prevEvents: string[]; streamPos: number }[]>`
      SELECT event_id, depth, prev_events, stream_pos FROM events WHERE room_id = ${roomId} ORDER BY depth`;
    expect(events.length).toBeGreaterThan(48);
    events.forEach((e, i) => {
      expect(e.depth).toBe(i + 1);
      expect(e.prevEvents).toEqual(i === 0 ? [] : [events[i - 1].eventId]);
      if (i > 0) expect(e.streamPos).toBeGreaterThan(events[i - 1].streamPos);
    });
    const [room] = await t.hs.sql<{ lastEventId: string; lastDepth: number }[]>`SELECT last_event_id, last_depth FROM rooms WHERE room_id = ${roomId}`;
    expect(room).toEqual({ lastEventId: events[events.length - 1].eventId, lastDepth: events.length });
    // current_state points at the latest event of each (type, state_key).
    const stale = await t.hs.sql`
      SELECT c.type FROM current_state c WHERE c.room_id = ${roomId} AND c.stream_pos <> (
        SELECT max(e.stream_pos) FROM events e WHERE e.room_id = c.room_id AND e.type = c.type AND e.state_key = c.state_key)`;
    expect(stale).toHaveLength(0);
    const topic = await httpB.get(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).set(bob.auth);
    const [latestTopic] = await t.hs.sql<{ content: { topic: string } }[]>`
      SELECT content FROM events WHERE room_id = ${roomId} AND type = 'm.room.topic' ORDER BY stream_pos DESC LIMIT 1`;
    expect(topic.body).toEqual(latestTopic.content);
  });
});

describe('the stored filter cache', () => {
  const filterPath = (u: TestUser, id = '') => `${V3}/user/${enc(u.userId)}/filter${id ? `/${id}` : ''}`;

  test('a stored filter is read back alike (cached), a missing one is not cached, and no caller can change the cached one', async () => {
    const defined = await httpA.post(filterPath(alice)).set(alice.auth).send({ room: { timeline: { limit: 7 } } });
    expect(defined.status).toBe(200);
    const id: string = defined.body.filter_id;
    for (let i = 0; i < 2; i++) {
      const res = await httpA.get(filterPath(alice, id)).set(alice.auth);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ room: { timeline: { limit: 7 } } });
    }
    // Another user's filter id names nothing for bob (the cache is per user), and bob cannot read alice's.
    expect((await httpA.get(filterPath(bob, id)).set(bob.auth)).status).toBe(404);
    expect((await httpA.get(filterPath(alice, id)).set(bob.auth)).status).toBe(403);

    const shared = await getFilter(t.hs, alice.userId, alice.userId, id);
    expect(() => {
      (shared.room as { timeline: { limit: number } }).timeline.limit = 1;
    }).toThrow(TypeError);
    expect(await getFilter(t.hs, alice.userId, alice.userId, id)).toEqual({ room: { timeline: { limit: 7 } } });

    // The next id from the sequence is missing now, and found once stored: a miss is never cached.
    const next = String(Number(id) + 1);
    expect((await httpA.get(filterPath(alice, next)).set(alice.auth)).status).toBe(404);
    const stored = await httpA.post(filterPath(alice)).set(alice.auth).send({ room: { timeline: { limit: 8 } } });
    expect(stored.body.filter_id).toBe(next);
    const found = await httpA.get(filterPath(alice, next)).set(alice.auth);
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ room: { timeline: { limit: 8 } } });
  });

  test('/sync with a filter id applies the stored filter', async () => {
    const roomId = await createRoom(httpA, alice);
    for (let i = 0; i < 4; i++) await expectStatus(send(httpA, alice, roomId), 200);
    const id = (await httpA.post(filterPath(alice)).set(alice.auth).send({ room: { timeline: { limit: 2 } } })).body.filter_id;
    for (let i = 0; i < 2; i++) {
      const res = await httpA.get(`${V3}/sync`).query({ filter: id }).set(alice.auth);
      expect(res.status).toBe(200);
      expect(res.body.rooms.join[roomId].timeline.events).toHaveLength(2);
      expect(res.body.rooms.join[roomId].timeline.limited).toBe(true);
    }
  });
});
