/** Retention: expired ciphertext is deleted from the database; state stays; /messages and /sync keep working. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { effectiveLifetime, purgeExpired } from '../../src/relay/retention.js';
import { parseDuration } from '../../src/config.js';

const V3 = '/_matrix/client/v3';
let t: TestServer;
let alice: TestUser;
const HOUR = 3_600_000;
const megolm = (tag: string) => ({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: `CIPHERTEXT-${tag}`, session_id: 'S' });

beforeAll(async () => {
  t = await startTestServer({ retention: true, retentionMinLifetimeMs: 60_000, retentionMaxLifetimeMs: 30 * 24 * HOUR });
  alice = await registerUser(t, 'alice');
});
afterAll(() => t.close());

async function ageEvents(roomId: string, byMs: number) {
  await t.hs.sql`UPDATE events SET origin_server_ts = origin_server_ts - ${byMs} WHERE room_id = ${roomId} AND state_key IS NULL`;
}

describe('lifetimes', () => {
  test('a room lifetime is clamped to the server bounds; the server maximum applies otherwise', () => {
    const c = { retentionMinLifetimeMs: 60_000, retentionMaxLifetimeMs: 10 * HOUR };
    expect(effectiveLifetime(c, HOUR)).toBe(HOUR);
    expect(effectiveLifetime(c, 1000)).toBe(60_000);
    expect(effectiveLifetime(c, 100 * HOUR)).toBe(10 * HOUR);
    expect(effectiveLifetime(c, undefined)).toBe(10 * HOUR);
    expect(effectiveLifetime({ retentionMinLifetimeMs: 60_000, retentionMaxLifetimeMs: undefined }, undefined)).toBeUndefined();
    expect(parseDuration('7d', 'X')).toBe(7 * 24 * HOUR);
  });
});

describe('an ephemeral room', () => {
  test('expired ciphertext is gone from the database; newer messages and state stay; reading still works', async () => {
    const roomId = (await t.http.post(`${V3}/createRoom`).set(alice.auth)
      .send({ initial_state: [{ type: 'm.room.retention', content: { max_lifetime: HOUR } }] })).body.room_id;
    await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/old`).set(alice.auth).send(megolm('old'));
    const since = (await t.http.get(`${V3}/sync`).set(alice.auth)).body.next_batch;
    await ageEvents(roomId, 2 * HOUR);
    await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/new`).set(alice.auth).send(megolm('new'));

    const result = await purgeExpired(t.hs);
    expect(result.events).toBe(1);
    const dump = await t.hs.sql`SELECT content::text AS c FROM events WHERE room_id = ${roomId}`;
    expect(dump.some((r) => r.c.includes('CIPHERTEXT-old'))).toBe(false);
    expect(dump.some((r) => r.c.includes('CIPHERTEXT-new'))).toBe(true);

    const messages = await t.http.get(`${V3}/rooms/${encodeURIComponent(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(alice.auth);
    expect(messages.status).toBe(200);
    expect(messages.body.chunk.filter((e: { type: string }) => e.type === 'm.room.encrypted')).toHaveLength(1);
    expect(messages.body.chunk.some((e: { type: string }) => e.type === 'm.room.create')).toBe(true);
    const sync = await t.http.get(`${V3}/sync`).query({ since }).set(alice.auth);
    expect(sync.status).toBe(200);
    const state = await t.http.get(`${V3}/rooms/${encodeURIComponent(roomId)}/state/m.room.retention`).set(alice.auth);
    expect(state.body).toEqual({ max_lifetime: HOUR });
  });

  test('a malformed m.room.retention is refused', async () => {
    const roomId = (await t.http.post(`${V3}/createRoom`).set(alice.auth).send({})).body.room_id;
    const res = await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/state/m.room.retention`).set(alice.auth).send({ max_lifetime: 'forever' });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_BAD_JSON']);
  });

  test('the server-wide maximum deletes old messages in rooms without their own setting, and old undelivered to-device messages', async () => {
    const bob = await registerUser(t, 'bob');
    const roomId = (await t.http.post(`${V3}/createRoom`).set(alice.auth).send({})).body.room_id;
    await t.http.put(`${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/ancient`).set(alice.auth).send(megolm('ancient'));
    await ageEvents(roomId, 31 * 24 * HOUR);
    await t.http.put(`${V3}/sendToDevice/m.room.encrypted/td1`).set(alice.auth).send({
      messages: { [bob.userId]: { [bob.deviceId]: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body: 'AwogOlm' } } } } },
    });
    await t.hs.sql`UPDATE to_device_inbox SET created_ts = created_ts - ${31 * 24 * HOUR} WHERE user_id = ${bob.userId}`;
    const result = await purgeExpired(t.hs);
    expect(result.toDevice).toBe(1);
    expect(await t.hs.sql`SELECT 1 FROM events WHERE content::text LIKE '%CIPHERTEXT-ancient%'`).toHaveLength(0);
  });
});
