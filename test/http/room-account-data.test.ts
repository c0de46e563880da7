/**
 * Per-room user data: GET/PUT /user/{userId}/rooms/{roomId}/account_data/{type} and the room tags (m.tag). Only
 * one's own; managed types refused; tags only on rooms one is or was in; /sync delivers both per room.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;
let roomId: string;

beforeAll(async () => {
  [t, [alice, bob]] = await startWithUsers(2);
  roomId = await createRoom(alice, { preset: 'private_chat' });
});
afterAll(() => t.close());

const { createRoom, ...rooms } = roomHelpers(() => t.http);

const dataPath = (u: string, room: string, type: string) => `${V3}/user/${enc(u)}/rooms/${enc(room)}/account_data/${enc(type)}`;
const tagsPath = (u: string, room: string) => `${V3}/user/${enc(u)}/rooms/${enc(room)}/tags`;
const tagPath = (u: string, room: string, tag: string) => `${tagsPath(u, room)}/${enc(tag)}`;

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

async function roomRows(userId: string) {
  return t.hs.sql<{ roomId: string; type: string; content: unknown }[]>`
    SELECT room_id, type, content FROM account_data WHERE user_id = ${userId} AND room_id <> '' ORDER BY room_id, type`;
}

const sync = (u: TestUser, since?: string) => rooms.sync(u, { timeout: 0, ...(since ? { since } : {}) });

describe('room account data', () => {
  test('set and get; separate from global account data and from other rooms', async () => {
    const put = await t.http.put(dataPath(alice.userId, roomId, 'org.example.cfg')).set(alice.auth).send({ colour: 'blue' });
    expect([put.status, put.body]).toEqual([200, {}]);
    expectValidResponseById('setAccountDataPerRoom', 200, put.body);
    const get = await t.http.get(dataPath(alice.userId, roomId, 'org.example.cfg')).set(alice.auth);
    expect([get.status, get.body]).toEqual([200, { colour: 'blue' }]);
    expectValidResponseById('getAccountDataPerRoom', 200, get.body);
    const global = await t.http.get(`${V3}/user/${enc(alice.userId)}/account_data/org.example.cfg`).set(alice.auth);
    expectError(global, 404, 'M_NOT_FOUND');
    const unset = await t.http.get(dataPath(alice.userId, roomId, 'org.example.other')).set(alice.auth);
    expectError(unset, 404, 'M_NOT_FOUND');
  });

  test("another user's room account data is 403, to read and to write; nothing stored", async () => {
    const write = await t.http.put(dataPath(alice.userId, roomId, 'org.example.x')).set(bob.auth).send({ a: 1 });
    expectError(write, 403, 'M_FORBIDDEN');
    const read = await t.http.get(dataPath(alice.userId, roomId, 'org.example.cfg')).set(bob.auth);
    expectError(read, 403, 'M_FORBIDDEN');
    expect(await roomRows(bob.userId)).toEqual([]);
  });

  test('m.fully_read and m.push_rules are 405 M_BAD_JSON', async () => {
    for (const type of ['m.fully_read', 'm.push_rules']) {
      const res = await t.http.put(dataPath(alice.userId, roomId, type)).set(alice.auth).send({ event_id: '$x' });
      expectError(res, 405, 'M_BAD_JSON');
    }
    expect((await roomRows(alice.userId)).map((x) => x.type)).not.toContain('m.fully_read');
  });

  test('a malformed room id is 400 M_INVALID_PARAM; an unknown room 404; a non-object body 400', async () => {
    expectError(await t.http.put(dataPath(alice.userId, '@notaroom:test.local', 'org.example.x')).set(alice.auth).send({}), 400, 'M_INVALID_PARAM');
    expectError(await t.http.get(dataPath(alice.userId, 'nothing', 'org.example.x')).set(alice.auth), 400, 'M_INVALID_PARAM');
    expectError(await t.http.put(dataPath(alice.userId, '!unknown:test.local', 'org.example.x')).set(alice.auth).send({}), 404, 'M_NOT_FOUND');
    const array = await t.http.put(dataPath(alice.userId, roomId, 'org.example.x')).set(alice.auth).send([1, 2]);
    expect(array.status).toBe(400);
    expectMatrixError(array.body);
    expect((await t.http.put(dataPath(alice.userId, roomId, 'org.example.x')).send({})).status).toBe(401);
  });

  test('/sync delivers it in rooms.join[room].account_data, initially and incrementally', async () => {
    const first = await sync(alice);
    expect(first.rooms?.join?.[roomId]?.account_data.events).toEqual(expect.arrayContaining([{ type: 'org.example.cfg', content: { colour: 'blue' } }]));
    await t.http.put(dataPath(alice.userId, roomId, 'org.example.cfg')).set(alice.auth).send({ colour: 'green' });
    const next = await sync(alice, first.next_batch);
    expect(next.rooms?.join?.[roomId]?.account_data.events).toEqual([{ type: 'org.example.cfg', content: { colour: 'green' } }]);
    expectValidResponseById('sync', 200, next);
  });
});

describe('room tags', () => {
  test('add, list, replace and remove tags; each change reaches /sync as m.tag', async () => {
    const before = await sync(alice);
    const put = await t.http.put(tagPath(alice.userId, roomId, 'm.favourite')).set(alice.auth).send({ order: 0.25 });
    expect([put.status, put.body]).toEqual([200, {}]);
    expectValidResponseById('setRoomTag', 200, put.body);
    expect((await t.http.put(tagPath(alice.userId, roomId, 'u.work')).set(alice.auth).send({})).status).toBe(200);
    const list = await t.http.get(tagsPath(alice.userId, roomId)).set(alice.auth);
    expect([list.status, list.body]).toEqual([200, { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } }]);
    expectValidResponseById('getRoomTags', 200, list.body);
    const after = await sync(alice, before.next_batch);
    expect(after.rooms?.join?.[roomId]?.account_data.events).toEqual([{ type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.25 }, 'u.work': {} } } }]);

    expect((await t.http.put(tagPath(alice.userId, roomId, 'm.favourite')).set(alice.auth).send({ order: 0.5 })).status).toBe(200);
    const del = await t.http.delete(tagPath(alice.userId, roomId, 'u.work')).set(alice.auth);
    expect([del.status, del.body]).toEqual([200, {}]);
    expectValidResponseById('deleteRoomTag', 200, del.body);
    expect((await t.http.get(tagsPath(alice.userId, roomId)).set(alice.auth)).body).toEqual({ tags: { 'm.favourite': { order: 0.5 } } });
    const last = await sync(alice, after.next_batch);
    expect(last.rooms?.join?.[roomId]?.account_data.events).toEqual([{ type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]);
    // Removing a tag the room does not have is fine and writes nothing.
    expect((await t.http.delete(tagPath(alice.userId, roomId, 'u.never')).set(alice.auth)).status).toBe(200);
  });

  test('a room without tags lists none; concurrent tag writes all land', async () => {
    const room = await createRoom(alice);
    expect((await t.http.get(tagsPath(alice.userId, room)).set(alice.auth)).body).toEqual({ tags: {} });
    const names = Array.from({ length: 8 }, (_, i) => `u.t${i}`);
    const results = await Promise.all(names.map((n) => t.http.put(tagPath(alice.userId, room, n)).set(alice.auth).send({ order: 0.1 })));
    expect(results.map((x) => x.status)).toEqual(names.map(() => 200));
    expect(Object.keys((await t.http.get(tagsPath(alice.userId, room)).set(alice.auth)).body.tags).sort()).toEqual(names);
  });

  test('a tag named __proto__ is an ordinary tag', async () => {
    expect((await t.http.put(tagPath(alice.userId, roomId, '__proto__')).set(alice.auth).send({ order: 0.9 })).status).toBe(200);
    const list = await t.http.get(tagsPath(alice.userId, roomId)).set(alice.auth);
    expect(Object.hasOwn(list.body.tags, '__proto__')).toBe(true);
    expect((await t.http.delete(tagPath(alice.userId, roomId, '__proto__')).set(alice.auth)).status).toBe(200);
  });

  test('tags on a room one has never been in are 403; an unknown room 404; a malformed id 400; nothing stored', async () => {
    const before = await roomRows(bob.userId);
    expectError(await t.http.put(tagPath(bob.userId, roomId, 'u.x')).set(bob.auth).send({}), 403, 'M_FORBIDDEN');
    expectError(await t.http.get(tagsPath(bob.userId, roomId)).set(bob.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.delete(tagPath(bob.userId, roomId, 'u.x')).set(bob.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.put(tagPath(bob.userId, '!nope:test.local', 'u.x')).set(bob.auth).send({}), 404, 'M_NOT_FOUND');
    expectError(await t.http.put(tagPath(bob.userId, 'nope', 'u.x')).set(bob.auth).send({}), 400, 'M_INVALID_PARAM');
    expect(await roomRows(bob.userId)).toEqual(before);
  });

  test("another user's tags are 403; an order that is not a number is 400 M_BAD_JSON", async () => {
    expectError(await t.http.get(tagsPath(alice.userId, roomId)).set(bob.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.put(tagPath(alice.userId, roomId, 'u.y')).set(bob.auth).send({}), 403, 'M_FORBIDDEN');
    expectError(await t.http.put(tagPath(alice.userId, roomId, 'u.y')).set(alice.auth).send({ order: 'first' }), 400, 'M_BAD_JSON');
    expect((await t.http.get(tagsPath(alice.userId, roomId)).set(alice.auth)).body.tags).not.toHaveProperty('u.y');
  });

  test('a user who left the room keeps access to their tags', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await rooms.join(bob, room);
    expect((await t.http.put(tagPath(bob.userId, room, 'm.lowpriority')).set(bob.auth).send({})).status).toBe(200);
    await rooms.leave(bob, room);
    expect((await t.http.get(tagsPath(bob.userId, room)).set(bob.auth)).body).toEqual({ tags: { 'm.lowpriority': {} } });
  });
});
