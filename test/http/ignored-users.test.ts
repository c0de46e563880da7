/**
 * Ignoring users (m.ignored_user_list) over HTTP: the ignored user's message events are not sent by /sync (initial
 * and incremental), /messages, /context, /event, /relations or /threads, their state events still are, their invites
 * are not; a change of the list takes effect on the next request; one's own events are never hidden.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V3, type SyncBody } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, send, setState, sync } = roomHelpers(() => t.http);

async function ignore(u: TestUser, ignored: unknown): Promise<void> {
  const res = await t.http.put(`${V3}/user/${enc(u.userId)}/account_data/m.ignored_user_list`).set(u.auth).send({ ignored_users: ignored } as object);
  expect(res.status).toBe(200);
}
const ignoreUsers = (u: TestUser, users: TestUser[]) => ignore(u, Object.fromEntries(users.map((x) => [x.userId, {}])));

type Ev = { event_id: string; type: string; sender: string; state_key?: string };
const ids = (events: Ev[]) => events.map((e) => e.event_id);
const timelineOf = (body: SyncBody, roomId: string): Ev[] => body.rooms.join[roomId]?.timeline.events ?? [];
const everythingOf = (body: SyncBody, roomId: string): Ev[] => [...(body.rooms.join[roomId]?.state.events ?? []), ...timelineOf(body, roomId)];

describe('an ignored user', () => {
  let roomId: string;
  let fromBob: string;
  let fromAlice: string;
  let bobTopic: string;
  let since: string;

  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat', power_level_content_override: { state_default: 0 } });
    await join(bob, roomId);
    fromBob = await send(bob, roomId, 'bob1');
    fromAlice = await send(alice, roomId, 'alice1');
    bobTopic = await setState(bob, roomId, 'm.room.topic', '', { topic: 'set by bob' });
    since = (await sync(alice)).next_batch;
    await ignoreUsers(alice, [bob]);
  });

  test('is hidden from the next incremental sync, which also carries the new list', async () => {
    const later = await send(bob, roomId, 'bob2');
    const topic = await setState(bob, roomId, 'm.room.topic', '', { topic: 'bob again' });
    const body = await sync(alice, { since, timeout: 0 });
    expect(body.account_data.events.find((e: { type: string }) => e.type === 'm.ignored_user_list')?.content).toEqual({ ignored_users: { [bob.userId]: {} } });
    const timeline = ids(timelineOf(body, roomId));
    expect(timeline).not.toContain(later);
    // State events are still sent (spec: so that the room does not look different to the user).
    expect(timeline).toContain(topic);
  });

  test('is hidden from an initial sync: earlier messages too; state events and the membership stay', async () => {
    const body = await sync(alice, { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) });
    const all = everythingOf(body, roomId);
    expect(ids(all)).not.toContain(fromBob);
    expect(ids(all)).toContain(fromAlice);
    expect(all.some((e) => e.type === 'm.room.member' && e.state_key === bob.userId)).toBe(true);
    expect(all.some((e) => e.type === 'm.room.topic' && e.sender === bob.userId)).toBe(true);
    expect(ids(all)).toContain(bobTopic);
  });

  test('is hidden from /messages (state events stay)', async () => {
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getRoomEvents', 200, res.body);
    const chunk = res.body.chunk as Ev[];
    expect(chunk.filter((e) => e.sender === bob.userId && e.state_key === undefined)).toEqual([]);
    expect(ids(chunk)).toContain(fromAlice);
    expect(chunk.some((e) => e.sender === bob.userId && e.type === 'm.room.topic')).toBe(true);
    // Others still see everything.
    const bobsView = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(bob.auth);
    expect(ids(bobsView.body.chunk)).toContain(fromBob);
  });

  test('is hidden from /context: around an event, and the event itself is 404 as if not there', async () => {
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(fromAlice)}`).query({ limit: 20 }).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getEventContext', 200, res.body);
    const around = [...res.body.events_before, ...res.body.events_after] as Ev[];
    expect(ids(around)).not.toContain(fromBob);
    expect(around.some((e) => e.sender === bob.userId && e.type === 'm.room.topic')).toBe(true);
    const own = await t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(fromBob)}`).set(alice.auth);
    expect(own.status).toBe(404);
    expectMatrixError(own.body, 'M_NOT_FOUND');
  });

  test('is hidden from /event (404 as if not there), /relations (children) and /threads (roots)', async () => {
    const one = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(fromBob)}`).set(alice.auth);
    expect(one.status).toBe(404);
    expectMatrixError(one.body, 'M_NOT_FOUND');
    const state = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(bobTopic)}`).set(alice.auth);
    expect(state.status).toBe(200);
    expectValidResponseById('getOneRoomEvent', 200, state.body);
    // Bob's thread is left out of the list; his replies in alice's thread are left out of its relations.
    const thread = (root: string) => ({ 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    const aliceRoot = await send(alice, roomId, 'aroot');
    const bobReply = await send(bob, roomId, 'breply', thread(aliceRoot));
    const aliceReply = await send(alice, roomId, 'areply', thread(aliceRoot));
    const bobRoot = await send(bob, roomId, 'broot');
    await send(alice, roomId, 'areply2', thread(bobRoot));
    const rel = await t.http.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(aliceRoot)}/m.thread`).set(alice.auth);
    expect(rel.status).toBe(200);
    expectValidResponseById('getRelatingEventsWithRelType', 200, rel.body);
    expect(ids(rel.body.chunk)).toEqual([aliceReply]);
    const threads = await t.http.get(`/_matrix/client/v1/rooms/${enc(roomId)}/threads`).set(alice.auth);
    expect(threads.status).toBe(200);
    expectValidResponseById('getThreadRoots', 200, threads.body);
    expect(ids(threads.body.chunk)).toEqual([aliceRoot]);
    // Carol ignores nobody: she sees all of it.
    await join(carol, roomId);
    const hers = await t.http.get(`/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(aliceRoot)}`).set(carol.auth);
    expect(ids(hers.body.chunk)).toEqual([aliceReply, bobReply]);
    expect(ids((await t.http.get(`/_matrix/client/v1/rooms/${enc(roomId)}/threads`).set(carol.auth)).body.chunk)).toEqual([bobRoot, aliceRoot]);
    expect((await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(fromBob)}`).set(carol.auth)).status).toBe(200);
  });

  test('is back on the next request once the list no longer names them', async () => {
    const s = (await sync(alice)).next_batch;
    await ignore(alice, {});
    const next = await send(bob, roomId, 'bob3');
    expect(ids(timelineOf(await sync(alice, { since: s, timeout: 0 }), roomId))).toContain(next);
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(alice.auth);
    expect(ids(res.body.chunk)).toEqual(expect.arrayContaining([fromBob, next]));
    expect((await t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(fromBob)}`).set(alice.auth)).status).toBe(200);
    expect((await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(fromBob)}`).set(alice.auth)).status).toBe(200);
  });
});

describe('invites', () => {
  test('an ignored user\'s invite is not sent; another user\'s is; un-ignoring shows it in a fresh sync', async () => {
    const u = await registerUser(t);
    await ignoreUsers(u, [bob]);
    const since = (await sync(u)).next_batch;
    const fromBob = await createRoom(bob, { invite: [u.userId] });
    const fromCarol = await createRoom(carol, { invite: [u.userId] });
    const body = await sync(u, { since, timeout: 0 });
    expect(Object.keys(body.rooms.invite)).toEqual([fromCarol]);
    expect(Object.keys((await sync(u)).rooms.invite)).toEqual([fromCarol]);
    await ignore(u, {});
    expect(Object.keys((await sync(u)).rooms.invite).sort()).toEqual([fromBob, fromCarol].sort());
  });
});

describe('what is never hidden', () => {
  test('one\'s own events, even when the list names oneself; a malformed list hides nothing', async () => {
    const roomId = await createRoom(carol, { preset: 'public_chat' });
    const own = await send(carol, roomId, 'mine');
    await ignore(carol, { [carol.userId]: {} });
    expect(ids(timelineOf(await sync(carol), roomId))).toContain(own);
    await join(alice, roomId);
    const theirs = await send(alice, roomId, 'hers');
    for (const list of [[alice.userId], 'everyone', null]) {
      // The blindness policy refuses a malformed list at the door (403); one stored before it existed hides nothing.
      const refused = await t.http.put(`${V3}/user/${enc(carol.userId)}/account_data/m.ignored_user_list`).set(carol.auth).send({ ignored_users: list } as object);
      expect([refused.status, refused.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
      await t.hs.sql`UPDATE account_data SET content = ${t.hs.sql.json({ ignored_users: list } as never)}
        WHERE user_id = ${carol.userId} AND room_id = '' AND type = 'm.ignored_user_list'`;
      expect(ids(timelineOf(await sync(carol), roomId))).toContain(theirs);
    }
  });
});
