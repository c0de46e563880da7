/** Retention: expired ciphertext is deleted from the database; state stays; /messages and /sync keep working. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { effectiveLifetime, purgeExpired } from '../../src/relay/retention.js';
import { parseDuration } from '../../src/config.js';
import { enc, megolm, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;
const HOUR = 3_600_000;

beforeAll(async () => ([t, [alice]] = await startWithUsers(['alice'], { retention: true, retentionMinLifetimeMs: 60_000, retentionMaxLifetimeMs: 30 * 24 * HOUR })));
afterAll(() => t.close());

const { createRoom, send, sync } = roomHelpers(() => t.http);

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
    const roomId = await createRoom(alice, { initial_state: [{ type: 'm.room.retention', content: { max_lifetime: HOUR } }] });
    await send(alice, roomId, 'old');
    const { next_batch: since } = await sync(alice);
    await ageEvents(roomId, 2 * HOUR);
    await send(alice, roomId, 'new');

    const result = await purgeExpired(t.hs);
    expect(result.events).toBe(1);
    const dump = await t.hs.sql`SELECT content::text AS c FROM events WHERE room_id = ${roomId}`;
    expect(dump.some((r) => r.c.includes(megolm('old').ciphertext as string))).toBe(false);
    expect(dump.some((r) => r.c.includes(megolm('new').ciphertext as string))).toBe(true);

    const messages = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(alice.auth);
    expect(messages.status).toBe(200);
    expect(messages.body.chunk.filter((e: { type: string }) => e.type === 'm.room.encrypted')).toHaveLength(1);
    expect(messages.body.chunk.some((e: { type: string }) => e.type === 'm.room.create')).toBe(true);
    await sync(alice, { since });
    const state = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/m.room.retention`).set(alice.auth);
    expect(state.body).toEqual({ max_lifetime: HOUR });
  });

  test('a malformed m.room.retention is refused', async () => {
    const roomId = await createRoom(alice);
    const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.retention`).set(alice.auth).send({ max_lifetime: 'forever' });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_BAD_JSON']);
  });

  test('the server-wide maximum deletes old messages in rooms without their own setting, and old undelivered to-device messages', async () => {
    const bob = await registerUser(t, 'bob');
    const roomId = await createRoom(alice);
    await send(alice, roomId, 'ancient');
    await ageEvents(roomId, 31 * 24 * HOUR);
    await t.http.put(`${V3}/sendToDevice/m.room.encrypted/td1`).set(alice.auth).send({
      messages: { [bob.userId]: { [bob.deviceId]: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body: 'AwogOlm' } } } } },
    });
    await t.hs.sql`UPDATE to_device_inbox SET created_ts = created_ts - ${31 * 24 * HOUR} WHERE user_id = ${bob.userId}`;
    const result = await purgeExpired(t.hs);
    expect(result.toDevice).toBe(1);
    expect(await t.hs.sql`SELECT 1 FROM events WHERE strpos(content::text, ${megolm('ancient').ciphertext as string}) > 0`).toHaveLength(0);
  });
});
