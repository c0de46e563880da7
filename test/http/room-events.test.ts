/** Room events over HTTP: send (the encrypted-only policy, txn ids, size), state, redaction, /event, /messages, members. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { login } from '../support/accounts.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, megolm, MEGOLM_ALGORITHM, nextTxnId, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, send } = roomHelpers(() => t.http);
const sendRaw = (user: TestUser, roomId: string, type: string, content: unknown, id = nextTxnId()) =>
  t.http.put(`${V3}/rooms/${enc(roomId)}/send/${enc(type)}/${enc(id)}`).set(user.auth).send(content as object);
async function eventCount(roomId?: string): Promise<number> {
  const [row] = roomId
    ? await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId}`
    : await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
  return row.n;
}

/** A well-formed event id (the relation need not point at an existing event). */
const ROOT = `$${'r'.repeat(43)}`;

describe('send: the encrypted-only policy', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
  });

  test('Megolm ciphertext is accepted and stored as sent', async () => {
    const res = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('ok', { 'm.relates_to': { rel_type: 'm.thread', event_id: ROOT } }));
    expect(res.status).toBe(200);
    expectValidResponseById('sendMessage', 200, res.body);
    const [row] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${res.body.event_id}`;
    expect(row.content).toEqual(megolm('ok', { 'm.relates_to': { rel_type: 'm.thread', event_id: ROOT } }));
  });

  test.each([
    ['m.room.message', { msgtype: 'm.text', body: 'hello in the clear' }],
    ['m.sticker', { body: 'sticker', url: 'mxc://x/y', info: {} }],
    ['org.example.custom', { anything: true }],
  ])('plaintext %s is refused 403 and not stored', async (type, content) => {
    const before = await eventCount();
    const res = await sendRaw(alice, roomId, type as string, content);
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(res.body.error).toContain('only relays end-to-end encrypted messages');
    expect(await eventCount()).toBe(before);
    const leaked = await t.hs.sql`SELECT 1 FROM events WHERE content::text LIKE '%in the clear%'`;
    expect(leaked.length).toBe(0);
  });

  test.each([
    ['another algorithm', { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: { KEY: { type: 0, body: 'x' } }, sender_key: 'K' }],
    ['no algorithm', { ciphertext: 'AwgA', session_id: 'S' }],
    ['no ciphertext', { algorithm: MEGOLM_ALGORITHM, session_id: 'S' }],
    ['an empty ciphertext', { algorithm: MEGOLM_ALGORITHM, ciphertext: '', session_id: 'S' }],
    ['a non-string ciphertext', { algorithm: MEGOLM_ALGORITHM, ciphertext: { body: 'x' }, session_id: 'S' }],
    ['no session_id', { algorithm: MEGOLM_ALGORITHM, ciphertext: 'AwgA' }],
    ['a non-string sender_key', { algorithm: MEGOLM_ALGORITHM, ciphertext: 'AwgA', session_id: 'S', sender_key: 5 }],
    ['a non-string device_id', { algorithm: MEGOLM_ALGORITHM, ciphertext: 'AwgA', session_id: 'S', device_id: ['D'] }],
  ])('m.room.encrypted with %s is refused 403', async (_what, content) => {
    const before = await eventCount();
    const res = await sendRaw(alice, roomId, 'm.room.encrypted', content);
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(res.body.error).toMatch(/only relays end-to-end encrypted messages|will not relay content\.[a-z_]+ in the clear/);
    expect(await eventCount()).toBe(before);
  });

  test('m.reaction is allowed only as a bare m.annotation', async () => {
    const target = await send(alice, roomId);
    const ok = await sendRaw(bob, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } });
    expect(ok.status).toBe(200);
    const before = await eventCount();
    for (const content of [
      { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' }, body: 'sneaky plaintext' },
      { 'm.relates_to': { rel_type: 'm.reference', event_id: target, key: 'x' } },
      { 'm.relates_to': { rel_type: 'm.annotation', event_id: target } },
      { 'm.relates_to': { rel_type: 'm.annotation', key: 'x' } },
      { body: 'no relation' },
    ]) {
      const res = await sendRaw(bob, roomId, 'm.reaction', content);
      expect([res.status, JSON.stringify(content)]).toEqual([403, JSON.stringify(content)]);
      expectMatrixError(res.body, 'M_FORBIDDEN');
    }
    expect(await eventCount()).toBe(before);
  });

  test('a non-member cannot send (403); an unknown room is 404; nothing is stored', async () => {
    const before = await eventCount();
    const outsider = await sendRaw(carol, roomId, 'm.room.encrypted', megolm(1));
    expect(outsider.status).toBe(403);
    expectMatrixError(outsider.body, 'M_FORBIDDEN');
    const unknown = await sendRaw(alice, '!nope:test.local', 'm.room.encrypted', megolm(1));
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
    expect(await eventCount()).toBe(before);
  });

  test('events_default power: a member below it cannot send', async () => {
    const room = await createRoom(alice, { preset: 'public_chat', power_level_content_override: { events_default: 10 } });
    await join(bob, room);
    const n = await eventCount(room);
    expect((await sendRaw(bob, room, 'm.room.encrypted', megolm(1))).status).toBe(403);
    expect(await eventCount(room)).toBe(n);
  });

  test('bodies that are not a JSON object are M_NOT_JSON', async () => {
    const before = await eventCount();
    const res = await t.http
      .put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/${nextTxnId()}`)
      .set(alice.auth)
      .set('Content-Type', 'application/json')
      .send('[1,2]');
    expect(res.status).toBe(400);
    expectMatrixError(res.body, 'M_NOT_JSON');
    const broken = await t.http
      .put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/${nextTxnId()}`)
      .set(alice.auth)
      .set('Content-Type', 'application/json')
      .send('{"algorithm":');
    expect(broken.status).toBe(400);
    expectMatrixError(broken.body, 'M_NOT_JSON');
    expect(await eventCount()).toBe(before);
  });
});

describe('send: transaction ids and size', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
  });

  test('a retry on the same device returns the first event; another device with the same txn makes a new event', async () => {
    const first = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('a'), 'same-txn');
    const retry = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('a'), 'same-txn');
    expect(retry.status).toBe(200);
    expect(retry.body.event_id).toBe(first.body.event_id);
    const n = await eventCount(roomId);

    const second = await login(t, alice.userId, alice.password);
    expect(second.status).toBe(200);
    expect(second.body.device_id).not.toBe(alice.deviceId);
    const other = await t.http
      .put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/same-txn`)
      .set({ Authorization: `Bearer ${second.body.access_token}` })
      .send(megolm('a'));
    expect(other.status).toBe(200);
    expect(other.body.event_id).not.toBe(first.body.event_id);
    expect(await eventCount(roomId)).toBe(n + 1);
  });

  test('the same txn id in another room, or for a redaction, is another request', async () => {
    const room2 = await createRoom(alice);
    const a = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('x'), 'scoped');
    const b = await sendRaw(alice, room2, 'm.room.encrypted', megolm('y'), 'scoped');
    expect(b.status).toBe(200);
    expect(b.body.event_id).not.toBe(a.body.event_id);
    const [row] = await t.hs.sql<{ roomId: string }[]>`SELECT room_id FROM events WHERE event_id = ${b.body.event_id}`;
    expect(row.roomId).toBe(room2);
    const red = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(a.body.event_id)}/scoped`).set(alice.auth).send({});
    expect(red.status).toBe(200);
    expect(red.body.event_id).not.toBe(a.body.event_id);
    const [target] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${a.body.event_id}`;
    expect(target.content).toEqual({});
  });

  test('a refused send does not burn the txn id', async () => {
    const bad = await sendRaw(alice, roomId, 'm.room.message', { body: 'x' }, 'retry-me');
    expect(bad.status).toBe(403);
    const good = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('r'), 'retry-me');
    expect(good.status).toBe(200);
    const [row] = await t.hs.sql<{ type: string }[]>`SELECT type FROM events WHERE event_id = ${good.body.event_id}`;
    expect(row.type).toBe('m.room.encrypted');
  });

  test('an event over 65536 bytes is 413 M_TOO_LARGE and nothing is stored; a large one under the limit passes', async () => {
    const before = await eventCount();
    const [{ pos }] = await t.hs.sql<{ pos: string }[]>`SELECT pos FROM stream_head`;
    const big = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('b', { ciphertext: 'A'.repeat(65536) }), 'big');
    expect(big.status).toBe(413);
    expectMatrixError(big.body, 'M_TOO_LARGE');
    expect(await eventCount()).toBe(before);
    expect((await t.hs.sql`SELECT 1 FROM event_txns WHERE txn_id = 'big'`).length).toBe(0);
    const [{ pos: after }] = await t.hs.sql<{ pos: string }[]>`SELECT pos FROM stream_head`;
    expect(after).toBe(pos);
    const state = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.server_acl/`).set(alice.auth).send({ deny: Array.from({ length: 300 }, (_, i) => `${i}.${'x'.repeat(240)}`) });
    expect(state.status).toBe(413);
    const fits = await sendRaw(alice, roomId, 'm.room.encrypted', megolm('f', { ciphertext: 'A'.repeat(60000) }));
    expect(fits.status).toBe(200);
  });
});

describe('state', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
  });

  test('PUT and GET without a state key, with and without the trailing slash', async () => {
    const put = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).set(alice.auth).send({ topic: 'one' });
    expect(put.status).toBe(200);
    expectValidResponseById('setRoomStateWithKey', 200, put.body);
    for (const path of [`/state/m.room.topic`, `/state/m.room.topic/`]) {
      const get = await t.http.get(`${V3}/rooms/${enc(roomId)}${path}`).set(bob.auth);
      expect(get.status).toBe(200);
      expectValidResponseById('getRoomStateWithKey', 200, get.body);
      expect(get.body).toEqual({ topic: 'one' });
    }
    const put2 = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.topic/`).set(alice.auth).send({ topic: 'two' });
    expect(put2.status).toBe(200);
    const ev = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).query({ format: 'event' }).set(bob.auth);
    expect(ev.body).toMatchObject({ type: 'm.room.topic', state_key: '', content: { topic: 'two' }, event_id: put2.body.event_id });
    expect(ev.body.unsigned.prev_content).toEqual({ topic: 'one' });
  });

  test('PUT and GET with a state key; a missing one is 404', async () => {
    const put = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/org.example.thing/key1`).set(alice.auth).send({ v: 1 });
    expect(put.status).toBe(200);
    const get = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/org.example.thing/key1`).set(bob.auth);
    expect(get.body).toEqual({ v: 1 });
    const missing = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/org.example.thing/key2`).set(bob.auth);
    expect(missing.status).toBe(404);
    expectMatrixError(missing.body, 'M_NOT_FOUND');
    const all = await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(bob.auth);
    expect(all.status).toBe(200);
    expectValidResponseById('getRoomState', 200, all.body);
    expect(all.body.some((e: { type: string; state_key: string }) => e.type === 'org.example.thing' && e.state_key === 'key1')).toBe(true);
  });

  test('a power level too low is 403 and writes nothing; a user-id state key belongs to that user', async () => {
    const n = await eventCount(roomId);
    for (const [type, key] of [['m.room.name', ''], ['m.room.power_levels', ''], ['org.example.thing', 'k'], ['m.room.history_visibility', '']]) {
      const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/${type}/${key}`).set(bob.auth).send({ name: 'x' });
      expect([type, res.status]).toEqual([type, 403]);
      expectMatrixError(res.body, 'M_FORBIDDEN');
    }
    const theirs = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/org.example.thing/${enc(bob.userId)}`).set(alice.auth).send({ v: 1 });
    expect(theirs.status).toBe(403);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('m.room.encryption cannot be changed or removed; resending the same content is accepted', async () => {
    const n = await eventCount(roomId);
    for (const content of [{ algorithm: 'm.olm.v1.curve25519-aes-sha2' }, {}, { algorithm: MEGOLM_ALGORITHM, rotation_period_ms: 1 }]) {
      const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.encryption/`).set(alice.auth).send(content);
      expect(res.status).toBe(403);
      expectMatrixError(res.body, 'M_FORBIDDEN');
    }
    expect(await eventCount(roomId)).toBe(n);
    const same = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.encryption`).set(alice.auth).send({ algorithm: MEGOLM_ALGORITHM });
    expect(same.status).toBe(200);
    const get = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.encryption`).set(alice.auth);
    expect(get.body).toEqual({ algorithm: MEGOLM_ALGORITHM });
  });

  test('GET state of a room one is not in is 403; of an unknown room 404', async () => {
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(carol.auth);
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    const one = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).set(carol.auth);
    expect(one.status).toBe(403);
    const unknown = await t.http.get(`${V3}/rooms/${enc('!nope:test.local')}/state`).set(alice.auth);
    expect(unknown.status).toBe(404);
  });

  test('a user who left reads the state as it was when they left', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, room);
    await t.http.put(`${V3}/rooms/${enc(room)}/state/m.room.topic`).set(alice.auth).send({ topic: 'before' });
    await t.http.post(`${V3}/rooms/${enc(room)}/leave`).set(carol.auth).send({});
    await t.http.put(`${V3}/rooms/${enc(room)}/state/m.room.topic`).set(alice.auth).send({ topic: 'after' });
    const res = await t.http.get(`${V3}/rooms/${enc(room)}/state/m.room.topic`).set(carol.auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ topic: 'before' });
  });
});

describe('redaction', () => {
  test.each(['10', '11'])('room version %s: the ciphertext is gone from the events table; redacted_because is set', async (room_version) => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_version });
    await join(bob, roomId);
    const target = await send(bob, roomId, 'secret-cipher');
    const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/${nextTxnId()}`).set(bob.auth).send({ reason: 'oops' });
    expect(res.status).toBe(200);
    expectValidResponseById('redactEvent', 200, res.body);
    const [row] = await t.hs.sql<{ content: Record<string, unknown>; unsigned: Record<string, unknown> }[]>`
      SELECT content, unsigned FROM events WHERE event_id = ${target}`;
    expect(row.content).toEqual({});
    expect((row.unsigned.redacted_because as { event_id: string }).event_id).toBe(res.body.event_id);
    const leaked = await t.hs.sql`SELECT 1 FROM events WHERE content::text LIKE '%secret-cipher%' OR unsigned::text LIKE '%secret-cipher%'`;
    expect(leaked.length).toBe(0);
    const ev = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(target)}`).set(alice.auth);
    expect(ev.body.content).toEqual({});
    const red = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(res.body.event_id)}`).set(alice.auth);
    expect(red.body.type).toBe('m.room.redaction');
    // v11+: in content, and copied to the top level for clients (Element Web reads the top level only).
    expect([red.body.redacts, red.body.content.redacts]).toEqual([target, room_version === '10' ? undefined : target]);
  });

  test.each(['10', '11', '12'])(
    "room version %s: the redaction reaches the other member's incremental sync and /messages with a top-level redacts",
    async (room_version) => {
      // Found with Element Web 1.12 (matrix-js-sdk 39): in a v11+ room it applies a redaction by the top-level
      // `redacts` only, so without it the deleted message stayed on the other member's screen until a reload.
      const roomId = await createRoom(alice, { preset: 'public_chat', room_version });
      await join(bob, roomId);
      const target = await send(alice, roomId, 'goes-away');
      const before = await t.http.get(`${V3}/sync`).query({ timeout: 0 }).set(bob.auth);
      const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/${nextTxnId()}`).set(alice.auth).send({});
      expect(res.status).toBe(200);
      const after = await t.http.get(`${V3}/sync`).query({ since: before.body.next_batch, timeout: 0 }).set(bob.auth);
      expect(after.status).toBe(200);
      expectValidResponseById('sync', 200, after.body);
      const events = after.body.rooms.join[roomId].timeline.events as { type: string; event_id: string; redacts?: string; content: { redacts?: string } }[];
      const redaction = events.find((e) => e.type === 'm.room.redaction');
      const where = room_version === '10' ? { redacts: target } : { redacts: target, content: { redacts: target } };
      expect(redaction).toMatchObject({ event_id: res.body.event_id, ...where });
      const messages = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 5 }).set(bob.auth);
      expectValidResponseById('getRoomEvents', 200, messages.body);
      const inMessages = (messages.body.chunk as typeof events).find((e) => e.type === 'm.room.redaction');
      expect(inMessages).toMatchObject(where);
      // What is stored keeps the version's own place only.
      const [row] = await t.hs.sql<{ redacts: string | null; content: Record<string, unknown> }[]>`
        SELECT redacts, content FROM events WHERE event_id = ${res.body.event_id}`;
      expect(row.redacts === null).toBe(room_version !== '10');
      expect('redacts' in row.content).toBe(room_version !== '10');
    },
  );

  test("redacting another user's event needs the redact power level", async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    const mine = await send(alice, roomId, 'alice-cipher');
    const n = await eventCount(roomId);
    const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(mine)}/${nextTxnId()}`).set(bob.auth).send({});
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await eventCount(roomId)).toBe(n);
    const [row] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${mine}`;
    expect(row.content.ciphertext).toBe(megolm('alice-cipher').ciphertext);

    const theirs = await send(bob, roomId, 'bob-cipher');
    const mod = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(theirs)}/${nextTxnId()}`).set(alice.auth).send({});
    expect(mod.status).toBe(200);
    const [gone] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${theirs}`;
    expect(gone.content).toEqual({});
  });

  test('redacting a state event keeps only the keys the algorithm keeps', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_version: '11' });
    const put = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).set(alice.auth).send({ topic: 'secret topic' });
    await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(put.body.event_id)}/${nextTxnId()}`).set(alice.auth).send({});
    const [row] = await t.hs.sql<{ content: Record<string, unknown> }[]>`SELECT content FROM events WHERE event_id = ${put.body.event_id}`;
    expect(row.content).toEqual({});
  });

  test('a non-member cannot redact; an unknown room is 404; a malformed event id is 400', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const ev = await send(alice, roomId);
    expect((await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(ev)}/${nextTxnId()}`).set(carol.auth).send({})).status).toBe(403);
    expect((await t.http.put(`${V3}/rooms/${enc('!nope:test.local')}/redact/${enc(ev)}/${nextTxnId()}`).set(alice.auth).send({})).status).toBe(404);
    const bad = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/notanid/${nextTxnId()}`).set(alice.auth).send({});
    expect(bad.status).toBe(400);
    expectMatrixError(bad.body);
  });
});

describe('GET /event', () => {
  test('a member reads an event; someone who cannot see it gets 404; unknown events are 404', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    const ev = await send(alice, roomId);
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(ev)}`).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getOneRoomEvent', 200, res.body);
    expect(res.body).toMatchObject({ event_id: ev, room_id: roomId, type: 'm.room.encrypted', sender: alice.userId });
    const outsider = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(ev)}`).set(carol.auth);
    expect(outsider.status).toBe(404);
    expectMatrixError(outsider.body, 'M_NOT_FOUND');
    const unknown = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc('$nothing')}`).set(alice.auth);
    expect(unknown.status).toBe(404);
    const otherRoom = await createRoom(alice);
    const wrongRoom = await t.http.get(`${V3}/rooms/${enc(otherRoom)}/event/${enc(ev)}`).set(alice.auth);
    expect(wrongRoom.status).toBe(404);
  });
});

describe('/messages', () => {
  let roomId: string;
  const sent: string[] = [];
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    for (let i = 0; i < 6; i++) sent.push(await send(i % 2 === 0 ? alice : bob, roomId, `m${i}`));
  });
  const messages = (user: TestUser, query: Record<string, unknown>) => t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query(query).set(user.auth);

  test('backward pagination in pages, with end tokens, to the create event', async () => {
    const seen: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await messages(bob, { dir: 'b', limit: 4, ...(from ? { from } : {}) });
      expect(res.status).toBe(200);
      expectValidResponseById('getRoomEvents', 200, res.body);
      seen.push(...res.body.chunk.map((e: { event_id: string }) => e.event_id));
      if (!res.body.end) break;
      expect(res.body.chunk.length).toBeLessThanOrEqual(4);
      from = res.body.end;
    }
    expect(seen.slice(0, 6)).toEqual([...sent].reverse());
    const all = await t.hs.sql<{ eventId: string }[]>`SELECT event_id FROM events WHERE room_id = ${roomId} ORDER BY stream_pos DESC`;
    expect(seen).toEqual(all.map((e) => e.eventId));
  });

  test('forward pagination from a backward end token returns the same events in order', async () => {
    const back = await messages(bob, { dir: 'b', limit: 3 });
    expect(back.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual(sent.slice(3).reverse());
    const fwd = await messages(bob, { dir: 'f', from: back.body.end, limit: 10 });
    expect(fwd.status).toBe(200);
    expectValidResponseById('getRoomEvents', 200, fwd.body);
    expect(fwd.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual(sent.slice(3));
    const fromStart = await messages(bob, { dir: 'f', limit: 2 });
    expect(fromStart.body.chunk.map((e: { type: string }) => e.type)).toEqual(['m.room.create', 'm.room.member']);
    expect(fromStart.body.end).toBeDefined();
  });

  test('to stops the page', async () => {
    const back = await messages(bob, { dir: 'b', limit: 2 });
    const stop = back.body.end;
    const fwd = await messages(bob, { dir: 'f', limit: 50, to: stop });
    const ids = fwd.body.chunk.map((e: { event_id: string }) => e.event_id);
    expect(ids).toContain(sent[3]);
    expect(ids).not.toContain(sent[4]);
    const bwd = await messages(bob, { dir: 'b', limit: 50, to: stop });
    expect(bwd.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([sent[5], sent[4]]);
  });

  test('filter: types, not_senders, and lazy_load_members', async () => {
    const res = await messages(bob, { dir: 'b', limit: 50, filter: JSON.stringify({ types: ['m.room.encrypted'], not_senders: [bob.userId] }) });
    expect(res.status).toBe(200);
    expect(res.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([sent[4], sent[2], sent[0]]);
    const lazy = await messages(bob, { dir: 'b', limit: 2, filter: JSON.stringify({ types: ['m.room.encrypted'], lazy_load_members: true }) });
    expectValidResponseById('getRoomEvents', 200, lazy.body);
    const members = lazy.body.state.map((e: { type: string; state_key: string }) => [e.type, e.state_key]).sort();
    expect(members).toEqual([['m.room.member', alice.userId], ['m.room.member', bob.userId]].sort());
    const bad = await messages(bob, { dir: 'b', filter: '{nope' });
    expect(bad.status).toBe(400);
    expectMatrixError(bad.body, 'M_INVALID_PARAM');
  });

  test('tokens from /sync prev_batch page back from the timeline', async () => {
    const sync = await t.http.get(`${V3}/sync`).query({ filter: JSON.stringify({ room: { timeline: { limit: 2 } } }) }).set(bob.auth);
    const tl = sync.body.rooms.join[roomId].timeline;
    expect(tl.events.map((e: { event_id: string }) => e.event_id)).toEqual(sent.slice(4));
    const res = await messages(bob, { dir: 'b', from: tl.prev_batch, limit: 2 });
    expect(res.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual([sent[3], sent[2]]);
    const fwd = await messages(bob, { dir: 'f', from: tl.prev_batch, limit: 10 });
    expect(fwd.body.chunk.map((e: { event_id: string }) => e.event_id)).toEqual(sent.slice(4));
    const after = await messages(bob, { dir: 'f', from: sync.body.next_batch, limit: 10 });
    expect(after.body.chunk).toEqual([]);
    expect(after.body.end).toBeUndefined();
  });

  test('bad parameters: no dir, bad dir, bad token, bad limit; a non-member is 403', async () => {
    for (const q of [{}, { dir: 'x' }, { dir: 'b', from: 'garbage' }, { dir: 'b', limit: 0 }, { dir: 'b', limit: 'many' }]) {
      const res = await messages(bob, q);
      expect([JSON.stringify(q), res.status]).toEqual([JSON.stringify(q), 400]);
      expectMatrixError(res.body);
    }
    const outsider = await messages(carol, { dir: 'b' });
    expect(outsider.status).toBe(403);
  });
});

describe('members', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat', invite: [carol.userId] });
    await join(bob, roomId);
  });
  const members = (user: TestUser, q: Record<string, string> = {}) => t.http.get(`${V3}/rooms/${enc(roomId)}/members`).query(q).set(user.auth);
  const who = (body: { chunk: { state_key: string; content: { membership: string } }[] }) =>
    body.chunk.map((e) => `${e.state_key}=${e.content.membership}`).sort();

  test('all members, and by membership / not_membership (an "or" when both are given)', async () => {
    const all = await members(alice);
    expect(all.status).toBe(200);
    expectValidResponseById('getMembersByRoom', 200, all.body);
    expect(who(all.body)).toEqual([`${alice.userId}=join`, `${bob.userId}=join`, `${carol.userId}=invite`].sort());
    expect(who((await members(alice, { membership: 'invite' })).body)).toEqual([`${carol.userId}=invite`]);
    expect(who((await members(alice, { not_membership: 'join' })).body)).toEqual([`${carol.userId}=invite`]);
    expect(who((await members(alice, { membership: 'join', not_membership: 'invite' })).body)).toEqual([`${alice.userId}=join`, `${bob.userId}=join`].sort());
    expect(who((await members(alice, { membership: 'invite', not_membership: 'join' })).body)).toEqual([`${carol.userId}=invite`]);
    expect(who((await members(alice, { membership: 'leave', not_membership: 'invite' })).body)).toEqual([`${alice.userId}=join`, `${bob.userId}=join`].sort());
    const bad = await members(alice, { membership: 'dancing' });
    expect(bad.status).toBe(400);
  });

  test('at: the members as of a sync token', async () => {
    const sync = await t.http.get(`${V3}/sync`).set(alice.auth);
    const at = sync.body.next_batch;
    const dave = await registerUser(t);
    await join(dave, roomId);
    const then = await members(alice, { at });
    expect(who(then.body)).not.toContain(`${dave.userId}=join`);
    const now = await members(alice);
    expect(who(now.body)).toContain(`${dave.userId}=join`);
  });

  test('joined_members lists joined users with profile; outsiders get 403', async () => {
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/joined_members`).set(bob.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getJoinedMembersByRoom', 200, res.body);
    expect(Object.keys(res.body.joined)).toEqual(expect.arrayContaining([alice.userId, bob.userId]));
    expect(Object.keys(res.body.joined)).not.toContain(carol.userId);
    const outsider = await t.http.get(`${V3}/rooms/${enc(roomId)}/joined_members`).set(carol.auth);
    expect(outsider.status).toBe(403);
    const unknown = await t.http.get(`${V3}/rooms/${enc('!nope:test.local')}/members`).set(alice.auth);
    expect(unknown.status).toBe(404);
  });
});
