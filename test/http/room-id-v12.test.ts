/**
 * Room ids of version 12 rooms have no server part (`!` + the create event's hash, spec appendix "Room IDs"): every
 * endpoint that takes a room id, in the path or in a body, takes one; aliases, the published directory, the space
 * hierarchy, filters and /sync carry it unchanged.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V1, V3 } from '../support/rooms.js';
import { isRoomId } from '../../src/lib/identifiers.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;
let roomId: string;
let message: string;

const rooms = roomHelpers(() => t.http);

beforeAll(async () => {
  [t, [alice, bob, carol]] = await startWithUsers(3);
  roomId = await rooms.createRoom(alice, { room_version: '12', preset: 'public_chat', room_alias_name: 'hashroom' });
});
afterAll(() => t.close());

function ok(res: { status: number; body: unknown }, operationId?: string): any {
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  if (operationId) expectValidResponseById(operationId, 200, res.body);
  return res.body;
}

describe('a v12 room id (no server part) everywhere a room id is taken', () => {
  test('the id is the grammar`s room id', () => {
    expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
    expect(roomId).not.toContain(':');
    expect(isRoomId(roomId)).toBe(true);
  });

  test('aliases: createRoom set one; it resolves to the id; another can be added, listed and deleted', async () => {
    const alias = '#hashroom:test.local';
    expect(ok(await t.http.get(`${V3}/directory/room/${enc(alias)}`), 'getRoomIdByAlias').room_id).toBe(roomId);
    ok(await t.http.put(`${V3}/directory/room/${enc('#second:test.local')}`).set(alice.auth).send({ room_id: roomId }));
    expect(ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/aliases`).set(alice.auth), 'getLocalAliases').aliases.sort()).toEqual([alias, '#second:test.local']);
    ok(await t.http.delete(`${V3}/directory/room/${enc('#second:test.local')}`).set(alice.auth));
  });

  test('join by id and by alias; members, state, messages', async () => {
    await rooms.join(bob, roomId);
    expect(ok(await t.http.post(`${V3}/join/${enc('#hashroom:test.local')}`).set(carol.auth).send({}), 'joinRoom').room_id).toBe(roomId);
    expect(ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(carol.auth).send({}), 'joinRoomById').room_id).toBe(roomId);
    message = await rooms.send(bob, roomId, 'hash');
    const joined = ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/joined_members`).set(alice.auth), 'getJoinedMembersByRoom');
    expect(Object.keys(joined.joined).sort()).toEqual([alice.userId, bob.userId, carol.userId].sort());
    const members = ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/members`).set(alice.auth), 'getMembersByRoom');
    expect(members.chunk.every((e: { room_id: string }) => e.room_id === roomId)).toBe(true);
    const state = ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(alice.auth), 'getRoomState');
    expect(state.find((e: { type: string }) => e.type === 'm.room.create').event_id).toBe(`$${roomId.slice(1)}`);
    ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.create`).set(alice.auth));
    const messages = ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b' }).set(alice.auth), 'getRoomEvents');
    expect(messages.chunk[0]).toMatchObject({ event_id: message, room_id: roomId });
    expect(ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(message)}`).set(alice.auth), 'getOneRoomEvent').room_id).toBe(roomId);
    expect(ok(await t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(message)}`).set(alice.auth), 'getEventContext').event.event_id).toBe(message);
  });

  test('relations, threads, receipts, read markers, typing', async () => {
    const reply = await rooms.send(alice, roomId, 'thread', { 'm.relates_to': { rel_type: 'm.thread', event_id: message } });
    const rel = ok(await t.http.get(`${V1}/rooms/${enc(roomId)}/relations/${enc(message)}`).set(alice.auth), 'getRelatingEvents');
    expect(rel.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([reply]);
    ok(await t.http.get(`${V1}/rooms/${enc(roomId)}/threads`).set(alice.auth), 'getThreadRoots');
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(reply)}`).set(bob.auth).send({}));
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/read_markers`).set(bob.auth).send({ 'm.fully_read': reply }));
    ok(await t.http.put(`${V3}/rooms/${enc(roomId)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 10_000 }));
  });

  test('room account data and tags', async () => {
    const base = `${V3}/user/${enc(bob.userId)}/rooms/${enc(roomId)}`;
    ok(await t.http.put(`${base}/account_data/org.example.x`).set(bob.auth).send({ x: 1 }));
    expect(ok(await t.http.get(`${base}/account_data/org.example.x`).set(bob.auth))).toEqual({ x: 1 });
    ok(await t.http.put(`${base}/tags/m.favourite`).set(bob.auth).send({ order: 0.5 }));
    expect(ok(await t.http.get(`${base}/tags`).set(bob.auth), 'getRoomTags').tags).toEqual({ 'm.favourite': { order: 0.5 } });
  });

  test('/sync: the room under its id in join, with a filter naming it; invite and leave too', async () => {
    const filter = JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 5 } } });
    const sync = await rooms.sync(bob, { filter });
    expect(Object.keys(sync.rooms.join)).toEqual([roomId]);
    expect(sync.rooms.join[roomId].account_data.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['m.tag', 'org.example.x']));
    // A stored filter with the id.
    const stored = ok(await t.http.post(`${V3}/user/${enc(bob.userId)}/filter`).set(bob.auth).send({ room: { rooms: [roomId] } }));
    expect(Object.keys((await rooms.sync(bob, { filter: stored.filter_id })).rooms.join)).toEqual([roomId]);

    const privateRoom = await rooms.createRoom(alice, { room_version: '12' });
    expect(privateRoom).toMatch(/^![A-Za-z0-9_-]{43}$/);
    await rooms.invite(alice, privateRoom, bob);
    const invited = await rooms.sync(bob);
    expect(Object.keys(invited.rooms.invite)).toContain(privateRoom);
    await rooms.leave(bob, privateRoom);
    const since = invited.next_batch;
    const left = await rooms.sync(bob, { since });
    expect(Object.keys(left.rooms.leave)).toContain(privateRoom);
    ok(await t.http.post(`${V3}/rooms/${enc(privateRoom)}/forget`).set(bob.auth).send({}));
  });

  test('kick, ban, unban, invite by id', async () => {
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/kick`).set(alice.auth).send({ user_id: carol.userId }));
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/ban`).set(alice.auth).send({ user_id: carol.userId }));
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/unban`).set(alice.auth).send({ user_id: carol.userId }));
    ok(await t.http.post(`${V3}/rooms/${enc(roomId)}/invite`).set(alice.auth).send({ user_id: carol.userId }));
  });

  test('the published directory and the space hierarchy', async () => {
    ok(await t.http.put(`${V3}/directory/list/room/${enc(roomId)}`).set(alice.auth).send({ visibility: 'public' }));
    expect(ok(await t.http.get(`${V3}/directory/list/room/${enc(roomId)}`), 'getRoomVisibilityOnDirectory').visibility).toBe('public');
    const pub = ok(await t.http.get(`${V3}/publicRooms`).set(bob.auth), 'getPublicRooms');
    expect(pub.chunk.find((r: { room_id: string }) => r.room_id === roomId)).toMatchObject({ room_id: roomId, canonical_alias: '#hashroom:test.local' });

    // A v12 space naming a v12 child and a v10 child.
    const space = await rooms.createRoom(alice, { room_version: '12', preset: 'public_chat', creation_content: { type: 'm.space' } });
    const old = await rooms.createRoom(alice, { room_version: '10', preset: 'public_chat' });
    await rooms.setState(alice, space, 'm.space.child', roomId, { via: ['test.local'] });
    await rooms.setState(alice, space, 'm.space.child', old, { via: ['test.local'] });
    const hierarchy = ok(await t.http.get(`${V1}/rooms/${enc(space)}/hierarchy`).set(bob.auth), 'getSpaceHierarchy');
    expect(hierarchy.rooms.map((r: { room_id: string }) => r.room_id).sort()).toEqual([space, roomId, old].sort());
    expect(hierarchy.rooms.find((r: { room_id: string }) => r.room_id === roomId).room_version).toBe('12');
  });

  test('a malformed room id is still refused, and an unknown v12-shaped id is not found', async () => {
    const unknown = `!${'A'.repeat(43)}`;
    const res = await t.http.get(`${V3}/rooms/${enc(unknown)}/state`).set(alice.auth);
    expect([403, 404]).toContain(res.status);
    const join = await t.http.post(`${V3}/join/${enc(unknown)}`).set(alice.auth).send({});
    expect(join.status).toBe(404);
    for (const bad of ['!', '!a b', 'hash']) expect(isRoomId(bad)).toBe(false);
    const alias = await t.http.put(`${V3}/directory/room/${enc('#bad:test.local')}`).set(alice.auth).send({ room_id: '!' });
    expect(alias.status).toBe(400);
  });
});
