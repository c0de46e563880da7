/**
 * Rules on what a room accepts beyond the authorization rules: identical state sent again writes nothing and returns
 * the current event id; m.room.canonical_alias must name aliases that point to the room (M_BAD_ALIAS); a redaction
 * must name an event of the room, and an event of another room gets the same answer as an id no room has.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, nextTxnId, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, send, setState } = roomHelpers(() => t.http);
const putState = (u: TestUser, roomId: string, type: string, stateKey: string, content: unknown) =>
  t.http.put(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`).set(u.auth).send(content as object);
const eventCount = async (roomId: string) => (await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId}`)[0].n;
const headOf = async (roomId: string) => (await t.hs.sql<{ p: number }[]>`SELECT max(stream_pos)::bigint AS p FROM events`)[0].p;

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

describe('identical state sent again', () => {
  test('returns the current event id and writes no event, whatever the key order', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const first = await setState(alice, roomId, 'm.room.topic', '', { topic: 'same', 'm.topic': { 'm.text': [{ body: 'same' }] } });
    const n = await eventCount(roomId);
    const head = await headOf(roomId);
    const again = await putState(alice, roomId, 'm.room.topic', '', { 'm.topic': { 'm.text': [{ body: 'same' }] }, topic: 'same' });
    expect([again.status, again.body]).toEqual([200, { event_id: first }]);
    expectValidResponseById('setRoomStateWithKey', 200, again.body);
    expect(await eventCount(roomId)).toBe(n);
    expect(await headOf(roomId)).toBe(head);
    // A sync since then sees nothing new in the room.
    const other = await putState(alice, roomId, 'm.room.topic', '', { topic: 'changed' });
    expect(other.body.event_id).not.toBe(first);
    expect(await eventCount(roomId)).toBe(n + 1);
  });

  test('the same content from another sender, or other content, is a new event', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', power_level_content_override: { state_default: 0 } });
    await join(bob, roomId);
    const mine = await setState(alice, roomId, 'org.example.setting', 'k', { on: true });
    const theirs = await setState(bob, roomId, 'org.example.setting', 'k', { on: true });
    expect(theirs).not.toBe(mine);
    expect(await setState(bob, roomId, 'org.example.setting', 'k', { on: true })).toBe(theirs);
    expect(await setState(bob, roomId, 'org.example.setting', 'k', { on: false })).not.toBe(theirs);
    // Another state key is another piece of state.
    expect(await setState(bob, roomId, 'org.example.setting', 'k2', { on: false })).not.toBe(theirs);
  });

  test('one\'s own unchanged membership is not sent again', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`).query({ format: 'event' }).set(bob.auth);
    const n = await eventCount(roomId);
    const again = await putState(bob, roomId, 'm.room.member', bob.userId, res.body.content);
    expect([again.status, again.body]).toEqual([200, { event_id: res.body.event_id }]);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('is still checked: without the power to send it, 403 even though it would change nothing', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const current = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.power_levels`).set(bob.auth);
    expectError(await putState(bob, roomId, 'm.room.power_levels', '', current.body), 403, 'M_FORBIDDEN');
    // A user who has left cannot "send" the state they set while joined.
    const set = await setState(alice, roomId, 'm.room.name', '', { name: 'N' });
    await t.http.post(`${V3}/rooms/${enc(roomId)}/leave`).set(alice.auth).send({});
    expectError(await putState(alice, roomId, 'm.room.name', '', { name: 'N' }), 403, 'M_FORBIDDEN');
    expect(set).toMatch(/^\$/);
  });
});

describe('m.room.canonical_alias', () => {
  let roomId: string;
  let otherRoom: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'ca-main' });
    otherRoom = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'ca-other' });
    expect((await t.http.put(`${V3}/directory/room/${enc('#ca-alt:test.local')}`).set(alice.auth).send({ room_id: roomId })).status).toBe(200);
  });

  test('aliases that point to the room are accepted, alt_aliases too', async () => {
    const res = await putState(alice, roomId, 'm.room.canonical_alias', '', { alias: '#ca-main:test.local', alt_aliases: ['#ca-alt:test.local'] });
    expect(res.status).toBe(200);
    const got = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.canonical_alias`).set(alice.auth);
    expect(got.body).toEqual({ alias: '#ca-main:test.local', alt_aliases: ['#ca-alt:test.local'] });
  });

  test.each([
    ['an alias that does not exist', { alias: '#ca-nothing:test.local' }],
    ['an alias of another room', { alias: '#ca-other:test.local' }],
    ['an alt alias that does not exist', { alias: '#ca-main:test.local', alt_aliases: ['#ca-nothing:test.local'] }],
    ['an alt alias of another room', { alt_aliases: ['#ca-alt:test.local', '#ca-other:test.local'] }],
    ['an alias of another server', { alias: '#ca-main:elsewhere.org' }],
  ])('%s is 400 M_BAD_ALIAS and writes nothing', async (_what, content) => {
    const n = await eventCount(roomId);
    expectError(await putState(alice, roomId, 'm.room.canonical_alias', '', content), 400, 'M_BAD_ALIAS');
    expect(await eventCount(roomId)).toBe(n);
  });

  test.each([
    ['alias not a string', { alias: 5 }],
    ['alt_aliases not a list', { alt_aliases: '#ca-alt:test.local' }],
    ['alt_aliases with a non-string', { alt_aliases: [5] }],
    ['not an alias', { alias: 'ca-main' }],
  ])('%s is 400 M_INVALID_PARAM', async (_what, content) => {
    expectError(await putState(alice, roomId, 'm.room.canonical_alias', '', content), 400, 'M_INVALID_PARAM');
  });

  test('removing the canonical alias ({}, null or "") is always allowed', async () => {
    for (const content of [{}, { alias: null }, { alias: '' }, { alt_aliases: [] }]) {
      expect((await putState(alice, roomId, 'm.room.canonical_alias', '', content)).status).toBe(200);
    }
  });

  test('an alias deleted since it was set does not block changing the others (only added aliases are checked)', async () => {
    const room = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'ca-gone' });
    expect((await t.http.put(`${V3}/directory/room/${enc('#ca-gone-alt:test.local')}`).set(alice.auth).send({ room_id: room })).status).toBe(200);
    await setState(alice, room, 'm.room.canonical_alias', '', { alias: '#ca-gone:test.local' });
    expect((await t.http.delete(`${V3}/directory/room/${enc('#ca-gone:test.local')}`).set(alice.auth)).status).toBe(200);
    expect((await putState(alice, room, 'm.room.canonical_alias', '', { alias: '#ca-gone:test.local', alt_aliases: ['#ca-gone-alt:test.local'] })).status).toBe(200);
    expectError(await putState(alice, room, 'm.room.canonical_alias', '', { alias: '#ca-gone:test.local', alt_aliases: ['#ca-nothing:test.local'] }), 400, 'M_BAD_ALIAS');
  });

  test('createRoom: room_alias_name sets it; initial_state naming another room\'s alias is refused and creates no room', async () => {
    const before = (await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM rooms`)[0].n;
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ initial_state: [{ type: 'm.room.canonical_alias', content: { alias: '#ca-other:test.local' } }] });
    expectError(res, 400, 'M_BAD_ALIAS');
    expect((await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM rooms`)[0].n).toBe(before);
    expect(otherRoom).toMatch(/^!/);
  });
});

describe('redacting what is not in the room', () => {
  test('an event of another room and an unknown event id get the same 404, and nothing is written or redacted', async () => {
    const roomA = await createRoom(alice, { preset: 'public_chat' });
    const roomB = await createRoom(alice, { preset: 'public_chat' });
    const inB = await send(alice, roomB, 'b-cipher');
    const nA = await eventCount(roomA);
    const other = await t.http.put(`${V3}/rooms/${enc(roomA)}/redact/${enc(inB)}/${nextTxnId()}`).set(alice.auth).send({});
    const unknown = await t.http.put(`${V3}/rooms/${enc(roomA)}/redact/${enc(`$${'u'.repeat(43)}`)}/${nextTxnId()}`).set(alice.auth).send({});
    expectError(other, 404, 'M_NOT_FOUND');
    expectError(unknown, 404, 'M_NOT_FOUND');
    // The same words, but for the id itself: nothing tells an event of another room from no event.
    expect(other.body.error.replace(inB, 'X')).toBe(unknown.body.error.replace(`$${'u'.repeat(43)}`, 'X'));
    expect(await eventCount(roomA)).toBe(nA);
    const [row] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${inB}`;
    expect(row.content.ciphertext).toContain('b-cipher');
  });

  test('also when sent as an m.room.redaction event (room version 11, redacts in content)', async () => {
    const roomA = await createRoom(alice, { preset: 'public_chat', room_version: '11' });
    const roomB = await createRoom(alice, { preset: 'public_chat', room_version: '11' });
    const inB = await send(alice, roomB, 'b2');
    const res = await t.http.put(`${V3}/rooms/${enc(roomA)}/send/m.room.redaction/${nextTxnId()}`).set(alice.auth).send({ redacts: inB });
    expectError(res, 404, 'M_NOT_FOUND');
  });

  test('a plain member gets the same 404 (not a 403 that would differ from their own events); a non-member 403 for either', async () => {
    const roomA = await createRoom(alice, { preset: 'public_chat' });
    const roomB = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomA);
    const inB = await send(alice, roomB);
    expectError(await t.http.put(`${V3}/rooms/${enc(roomA)}/redact/${enc(inB)}/${nextTxnId()}`).set(bob.auth).send({}), 404, 'M_NOT_FOUND');
    const inA = await send(alice, roomA);
    expectError(await t.http.put(`${V3}/rooms/${enc(roomA)}/redact/${enc(inA)}/${nextTxnId()}`).set(carol.auth).send({}), 403, 'M_FORBIDDEN');
    expectError(await t.http.put(`${V3}/rooms/${enc(roomA)}/redact/${enc(inB)}/${nextTxnId()}`).set(carol.auth).send({}), 403, 'M_FORBIDDEN');
  });
});
