/** Room aliases over HTTP: PUT/GET/DELETE /directory/room/{roomAlias}: who may set and delete, and the server part. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;
let roomId: string;

beforeAll(async () => {
  [t, [alice, bob, carol]] = await startWithUsers(3);
  roomId = await createRoom(alice, { preset: 'public_chat' });
  await join(bob, roomId);
});
afterAll(() => t.close());

const { createRoom, join, leave } = roomHelpers(() => t.http);

const dir = (alias: string) => `${V3}/directory/room/${enc(alias)}`;
const aliasRows = async () => (await t.hs.sql<{ roomAlias: string }[]>`SELECT room_alias FROM room_aliases ORDER BY room_alias`).map((x) => x.roomAlias);

describe('set and resolve', () => {
  test('a member sets an alias; anyone resolves it, without a token', async () => {
    const put = await t.http.put(dir('#general:test.local')).set(bob.auth).send({ room_id: roomId });
    expect(put.status).toBe(200);
    expectValidResponseById('setRoomAlias', 200, put.body);
    const get = await t.http.get(dir('#general:test.local'));
    expect(get.status).toBe(200);
    expectValidResponseById('getRoomIdByAlias', 200, get.body);
    expect(get.body).toEqual({ room_id: roomId, servers: ['test.local'] });
  });

  test('a taken alias is 409 and stays with its room', async () => {
    const other = await createRoom(carol);
    const res = await t.http.put(dir('#general:test.local')).set(carol.auth).send({ room_id: other });
    expect(res.status).toBe(409);
    expectMatrixError(res.body);
    expect((await t.http.get(dir('#general:test.local'))).body.room_id).toBe(roomId);
  });

  test('a non-member cannot set an alias for the room (403); nothing stored', async () => {
    const before = await aliasRows();
    const res = await t.http.put(dir('#intruder:test.local')).set(carol.auth).send({ room_id: roomId });
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await aliasRows()).toEqual(before);
  });

  test('an alias on another server, a malformed alias or body, or an unknown room is refused; nothing stored', async () => {
    const before = await aliasRows();
    const other = await t.http.put(dir('#x:elsewhere.org')).set(alice.auth).send({ room_id: roomId });
    expect(other.status).toBe(400);
    expectMatrixError(other.body, 'M_INVALID_PARAM');
    const malformed = await t.http.put(dir('nohash:test.local')).set(alice.auth).send({ room_id: roomId });
    expect(malformed.status).toBe(400);
    expectMatrixError(malformed.body, 'M_INVALID_PARAM');
    const badBody = await t.http.put(dir('#okname:test.local')).set(alice.auth).send({ room_id: 'not-a-room' });
    expect(badBody.status).toBe(400);
    expectMatrixError(badBody.body, 'M_BAD_JSON');
    const noBody = await t.http.put(dir('#okname:test.local')).set(alice.auth).send({});
    expect(noBody.status).toBe(400);
    expectMatrixError(noBody.body);
    const unknownRoom = await t.http.put(dir('#okname:test.local')).set(alice.auth).send({ room_id: '!nope:test.local' });
    expect(unknownRoom.status).toBe(404);
    expectMatrixError(unknownRoom.body, 'M_NOT_FOUND');
    expect(await aliasRows()).toEqual(before);
  });

  test('an unknown alias is 404; an alias of another server is 400', async () => {
    const res = await t.http.get(dir('#unknown:test.local'));
    expect(res.status).toBe(404);
    expectMatrixError(res.body, 'M_NOT_FOUND');
    const other = await t.http.get(dir('#x:elsewhere.org'));
    expect(other.status).toBe(400);
    expectMatrixError(other.body, 'M_INVALID_PARAM');
  });
});

describe('delete', () => {
  test('the creator deletes their alias', async () => {
    await t.http.put(dir('#bobs:test.local')).set(bob.auth).send({ room_id: roomId });
    const res = await t.http.delete(dir('#bobs:test.local')).set(bob.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('deleteRoomAlias', 200, res.body);
    expect((await t.http.get(dir('#bobs:test.local'))).status).toBe(404);
  });

  test('a moderator of the room deletes an alias another member made', async () => {
    await t.http.put(dir('#bobs2:test.local')).set(bob.auth).send({ room_id: roomId });
    const res = await t.http.delete(dir('#bobs2:test.local')).set(alice.auth);
    expect(res.status).toBe(200);
    expect(await aliasRows()).not.toContain('#bobs2:test.local');
  });

  test('others cannot delete it: a plain member, or an outsider (403); the alias stays', async () => {
    await t.http.put(dir('#alices:test.local')).set(alice.auth).send({ room_id: roomId });
    const member = await t.http.delete(dir('#alices:test.local')).set(bob.auth);
    expect(member.status).toBe(403);
    expectMatrixError(member.body, 'M_FORBIDDEN');
    const outsider = await t.http.delete(dir('#alices:test.local')).set(carol.auth);
    expect(outsider.status).toBe(403);
    expect(await aliasRows()).toContain('#alices:test.local');
  });

  test('a creator who left the room can still delete their own alias; an unknown alias is 404', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, room);
    expect((await t.http.put(dir('#carols:test.local')).set(carol.auth).send({ room_id: room })).status).toBe(200);
    await leave(carol, room);
    expect((await t.http.delete(dir('#carols:test.local')).set(carol.auth)).status).toBe(200);
    const unknown = await t.http.delete(dir('#carols:test.local')).set(carol.auth);
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
  });

  test('deleting without a token is 401', async () => {
    const res = await t.http.delete(dir('#general:test.local'));
    expect(res.status).toBe(401);
    expect(await aliasRows()).toContain('#general:test.local');
  });
});
