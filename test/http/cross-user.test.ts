/**
 * One user acting on another's things, every way the API lets a path or body name another user or their device:
 * account data (global and per room), tags, filters, profile, typing, devices, device keys, key backup, member
 * events, user-keyed state, aliases and the room directory. Each attempt is refused (or sees only the caller's own data) and changes nothing
 * in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Response } from 'supertest';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys } from '../support/device-keys.js';
import { withPasswordUia } from '../support/accounts.js';

const V3 = '/_matrix/client/v3';
const r = encodeURIComponent;
let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let room: string;
let bobEvent: string;

/** A checksum of every table a request could change (device last-seen times, tokens and the caller's UIA sessions aside). */
async function databaseChecksum(): Promise<Record<string, string>> {
  const tables = await t.hs.sql<{ name: string }[]>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('devices', 'access_tokens', 'uia_sessions', 'pgmigrations') ORDER BY 1`;
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await t.hs.sql.unsafe<{ sum: string | null }[]>(`SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) AS sum FROM "${name}" x`);
    out[name] = row.sum ?? 'empty';
  }
  return out;
}

beforeAll(async () => {
  t = await startTestServer();
  alice = await registerUser(t, 'alice');
  bob = await registerUser(t, 'bob');
  room = (await t.http.post(`${V3}/createRoom`).set(bob.auth).send({ preset: 'public_chat' })).body.room_id;
  await t.http.post(`${V3}/join/${r(room)}`).set(alice.auth).send({});
  bobEvent = (await t.http.put(`${V3}/rooms/${r(room)}/send/m.room.encrypted/b1`).set(bob.auth)
    .send({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgAEnACgAkLmt', session_id: 'c2Vzc2lvbg', sender_key: 'a2V5', device_id: 'DEV' })).body.event_id;
  // Bob's own data, which alice will try to read or change.
  await t.http.put(`${V3}/user/${r(bob.userId)}/account_data/org.example.secret`).set(bob.auth).send({ mine: true });
  await t.http.put(`${V3}/user/${r(bob.userId)}/rooms/${r(room)}/account_data/org.example.secret`).set(bob.auth).send({ mine: true });
  await t.http.put(`${V3}/user/${r(bob.userId)}/rooms/${r(room)}/tags/u.work`).set(bob.auth).send({ order: 0.5 });
  await t.http.post(`${V3}/user/${r(bob.userId)}/filter`).set(bob.auth).send({ room: { timeline: { limit: 5 } } });
  await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ device_keys: makeDeviceKeys(bob.userId, bob.deviceId).deviceKeys });
  await t.http.put(`${V3}/directory/room/${r('#bobs:test.local')}`).set(bob.auth).send({ room_id: room });
  await t.http.post(`${V3}/room_keys/version`).set(bob.auth).send({ algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: 'cHVibGlj', signatures: {} } });
});
afterAll(() => t.close());

const bobs = () => ({ user: r(bob.userId), device: r(bob.deviceId) });

/** Requests by alice on bob's things, with the status classes that count as refused. */
const attempts: [string, () => Promise<Response>, number[]][] = [
  ['PUT bob\'s account data', () => t.http.put(`${V3}/user/${bobs().user}/account_data/org.example.secret`).set(alice.auth).send({ pwned: true }), [403]],
  ['GET bob\'s account data', () => t.http.get(`${V3}/user/${bobs().user}/account_data/org.example.secret`).set(alice.auth), [403]],
  ['PUT bob\'s room account data', () => t.http.put(`${V3}/user/${bobs().user}/rooms/${r(room)}/account_data/org.example.secret`).set(alice.auth).send({ pwned: true }), [403]],
  ['GET bob\'s room account data', () => t.http.get(`${V3}/user/${bobs().user}/rooms/${r(room)}/account_data/org.example.secret`).set(alice.auth), [403]],
  ['GET bob\'s tags', () => t.http.get(`${V3}/user/${bobs().user}/rooms/${r(room)}/tags`).set(alice.auth), [403]],
  ['PUT bob\'s tag', () => t.http.put(`${V3}/user/${bobs().user}/rooms/${r(room)}/tags/u.pwned`).set(alice.auth).send({}), [403]],
  ['DELETE bob\'s tag', () => t.http.delete(`${V3}/user/${bobs().user}/rooms/${r(room)}/tags/u.work`).set(alice.auth), [403]],
  ['POST a filter for bob', () => t.http.post(`${V3}/user/${bobs().user}/filter`).set(alice.auth).send({}), [403]],
  ['GET bob\'s filter', () => t.http.get(`${V3}/user/${bobs().user}/filter/0`).set(alice.auth), [403, 404]],
  ['PUT bob\'s display name', () => t.http.put(`${V3}/profile/${bobs().user}/displayname`).set(alice.auth).send({ displayname: 'pwned' }), [403]],
  ['DELETE bob\'s display name', () => t.http.delete(`${V3}/profile/${bobs().user}/displayname`).set(alice.auth), [403]],
  ['PUT typing for bob', () => t.http.put(`${V3}/rooms/${r(room)}/typing/${bobs().user}`).set(alice.auth).send({ typing: true, timeout: 1000 }), [403]],
  ['GET bob\'s device', () => t.http.get(`${V3}/devices/${bobs().device}`).set(alice.auth), [404]],
  ['PUT bob\'s device name', () => t.http.put(`${V3}/devices/${bobs().device}`).set(alice.auth).send({ display_name: 'pwned' }), [404]],
  ['DELETE bob\'s device (with alice\'s password)', () => withPasswordUia(t, 'delete', `${V3}/devices/${bobs().device}`, alice), [200, 404]],
  ['POST /delete_devices with bob\'s device (with alice\'s password)', () => withPasswordUia(t, 'post', `${V3}/delete_devices`, alice, { devices: [bob.deviceId] }), [200, 404]],
  ['upload device keys for bob\'s device', () => t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ device_keys: makeDeviceKeys(bob.userId, bob.deviceId).deviceKeys }), [400]],
  ['read bob\'s backup version', () => t.http.get(`${V3}/room_keys/version/1`).set(alice.auth), [404]],
  ['write into bob\'s backup version', () => t.http.put(`${V3}/room_keys/keys/${r(room)}/S1`).query({ version: '1' }).set(alice.auth)
    .send({ first_message_index: 0, forwarded_count: 0, is_verified: true, session_data: { ciphertext: 'Y2lwaGVy', mac: 'bWFj', ephemeral: 'ZXBo' } }), [403, 404]],
  ['delete bob\'s backup version', () => t.http.delete(`${V3}/room_keys/version/1`).set(alice.auth), [404]],
  ['join on bob\'s behalf with a new display name', () => t.http.put(`${V3}/rooms/${r(room)}/state/m.room.member/${bobs().user}`).set(alice.auth).send({ membership: 'join', displayname: 'pwned' }), [403]],
  ['make bob leave (without kick power)', () => t.http.put(`${V3}/rooms/${r(room)}/state/m.room.member/${bobs().user}`).set(alice.auth).send({ membership: 'leave' }), [403]],
  ['knock on bob\'s behalf', () => t.http.put(`${V3}/rooms/${r(room)}/state/m.room.member/${bobs().user}`).set(alice.auth).send({ membership: 'knock' }), [403]],
  ['state keyed by bob\'s user id', () => t.http.put(`${V3}/rooms/${r(room)}/state/org.example.status/${bobs().user}`).set(alice.auth).send({ status: 'pwned' }), [403]],
  ['redact bob\'s event (without redact power)', () => t.http.put(`${V3}/rooms/${r(room)}/redact/${r(bobEvent)}/x1`).set(alice.auth).send({}), [403]],
  ['kick bob (without kick power)', () => t.http.post(`${V3}/rooms/${r(room)}/kick`).set(alice.auth).send({ user_id: bob.userId }), [403]],
  ['delete bob\'s room alias', () => t.http.delete(`${V3}/directory/room/${r('#bobs:test.local')}`).set(alice.auth), [403]],
  ['publish bob\'s room in the directory (without power)', () => t.http.put(`${V3}/directory/list/room/${r(room)}`).set(alice.auth).send({ visibility: 'public' }), [403]],
  ['ban bob (without ban power)', () => t.http.post(`${V3}/rooms/${r(room)}/ban`).set(alice.auth).send({ user_id: bob.userId }), [403]],
];

describe("alice cannot act on bob's things", () => {
  test.each(attempts)('%s: refused, nothing changes', async (_name, attempt, statuses) => {
    const before = await databaseChecksum();
    const res = await attempt();
    expect(statuses).toContain(res.status);
    if (res.status !== 200) expect(typeof res.body.errcode).toBe('string');
    expect(await databaseChecksum()).toEqual(before);
  });

  test("alice's own backup and filters are hers alone: bob's stay invisible", async () => {
    const own = await t.http.get(`${V3}/room_keys/version`).set(alice.auth);
    expect([own.status, own.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    const mine = (await t.http.post(`${V3}/user/${r(alice.userId)}/filter`).set(alice.auth).send({})).body.filter_id;
    expect((await t.http.get(`${V3}/user/${r(bob.userId)}/filter/${mine}`).set(bob.auth)).status).toBe(404);
  });
});
