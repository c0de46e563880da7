/** Rooms and /sync end to end over HTTP: create, join, send ciphertext, refuse plaintext, sync and long-poll. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { megolm, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(['alice', 'bob'])));
afterAll(() => t.close());

describe('a live encrypted room', () => {
  let roomId: string;

  test('createRoom makes an encrypted room even when not asked', async () => {
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ preset: 'public_chat', name: 'Lobby' });
    expect(res.status).toBe(200);
    roomId = res.body.room_id;
    const enc = await t.http.get(`${V3}/rooms/${encodeURIComponent(roomId)}/state/m.room.encryption/`).set(alice.auth);
    expect(enc.body).toEqual({ algorithm: 'm.megolm.v1.aes-sha2' });
  });

  test('plaintext is refused; ciphertext is accepted; a retried txn returns the first event id', async () => {
    const plain = await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`).set(alice.auth).send({ msgtype: 'm.text', body: 'hi' });
    expect([plain.status, plain.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(plain.body.error).toContain('only relays end-to-end encrypted messages');
    const first = await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/t2`).set(alice.auth).send(megolm(1));
    expect(first.status).toBe(200);
    const again = await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/t2`).set(alice.auth).send(megolm(1));
    expect(again.body.event_id).toBe(first.body.event_id);
    const count = await t.hs.sql`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId} AND type = 'm.room.encrypted'`;
    expect(count[0].n).toBe(1);
  });

  test('bob joins, syncs, and a long-poll wakes when alice sends', async () => {
    const join = await t.http.post(`${V3}/join/${encodeURIComponent(roomId)}`).set(bob.auth).send({});
    expect(join.status).toBe(200);
    const initial = await t.http.get(`${V3}/sync`).set(bob.auth);
    expect(initial.status).toBe(200);
    const room = initial.body.rooms.join[roomId];
    expect(room.timeline.events.some((e: { type: string }) => e.type === 'm.room.encrypted')).toBe(true);
    const since = initial.body.next_batch;
    // Whether the poll reads before or after the send commits, it must return the event (first read, or woken).
    const pending = t.http.get(`${V3}/sync`).query({ since, timeout: 10000 }).set(bob.auth).then((r) => r);
    const sent = await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/t3`).set(alice.auth).send(megolm(3));
    const res = await pending;
    expect(res.status).toBe(200);
    const events = res.body.rooms.join[roomId].timeline.events;
    expect(events.map((e: { event_id: string }) => e.event_id)).toContain(sent.body.event_id);
  });

  test('a malformed since token is 400 M_INVALID_PARAM', async () => {
    const res = await t.http.get(`${V3}/sync`).query({ since: 'garbage' }).set(bob.auth);
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  test('/messages pages backwards from a sync prev_batch', async () => {
    const res = await t.http.get(`${V3}/rooms/${encodeURIComponent(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(bob.auth);
    expect(res.status).toBe(200);
    expect(res.body.chunk[0].type).toBe('m.room.encrypted');
    expect(res.body.chunk.at(-1).type).toBe('m.room.create');
  });
});

describe('room summary', () => {
  test('sent in full when members change, empty when they did not', async () => {
    const carol = await registerUser(t, 'carol_summary');
    const room = (await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ preset: 'public_chat' })).body.room_id;
    const first = await t.http.get(`${V3}/sync`).set(alice.auth);
    expect(first.body.rooms.join[room].summary['m.joined_member_count']).toBe(1);
    await t.http.put(`${V3}/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/sum1`).set(alice.auth).send(megolm(10));
    const quiet = await t.http.get(`${V3}/sync`).query({ since: first.body.next_batch }).set(alice.auth);
    expect(quiet.body.rooms.join[room].summary).toEqual({});
    await t.http.post(`${V3}/join/${encodeURIComponent(room)}`).set(carol.auth).send({});
    const joinedSync = await t.http.get(`${V3}/sync`).query({ since: quiet.body.next_batch }).set(alice.auth);
    expect(joinedSync.body.rooms.join[room].summary).toMatchObject({ 'm.joined_member_count': 2, 'm.heroes': [carol.userId] });
  });
});
