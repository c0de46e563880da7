/** Keys over HTTP: upload (self-signed, never replaced), query, claim (upload order, exactly once, then fallback), changes. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys, oneTimeKeys, type TestDeviceKeys } from '../support/device-keys.js';
import { expectValidResponseById } from '../support/spec.js';
import { roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;
let aliceKeys: TestDeviceKeys;

beforeAll(async () => {
  [t, [alice, bob]] = await startWithUsers(['alice', 'bob']);
  aliceKeys = makeDeviceKeys(alice.userId, alice.deviceId);
});
afterAll(() => t.close());

const rooms = roomHelpers(() => t.http);

const upload = (u: TestUser, body: unknown) => t.http.post(`${V3}/keys/upload`).set(u.auth).send(body as object);
const countKeys = async () => (await t.hs.sql`SELECT count(*)::int AS n FROM one_time_keys`)[0].n as number;

describe('upload', () => {
  test('device keys with a valid self-signature and one-time keys are stored; counts come back', async () => {
    const res = await upload(alice, { device_keys: aliceKeys.deviceKeys, one_time_keys: oneTimeKeys(aliceKeys, 3) });
    expect(res.status).toBe(200);
    expectValidResponseById('uploadKeys', 200, res.body);
    expect(res.body.one_time_key_counts).toEqual({ signed_curve25519: 3 });
  });

  test('re-uploading identical keys is accepted; a different key under an existing id is refused and nothing changes', async () => {
    const same = await upload(alice, { device_keys: aliceKeys.deviceKeys });
    expect(same.status).toBe(200);
    const before = await countKeys();
    const conflicting = await upload(alice, { one_time_keys: { 'signed_curve25519:AAAA0': aliceKeys.sign({ key: 'different0' }), 'signed_curve25519:NEW': aliceKeys.sign({ key: 'xA' }) } });
    expect([conflicting.status, conflicting.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect(conflicting.body.error).toContain('AAAA0');
    expect(await countKeys()).toBe(before);
  });

  test('identity keys cannot be replaced; keys for another device or user, and bad signatures, are refused', async () => {
    const other = makeDeviceKeys(alice.userId, alice.deviceId);
    const replaced = await upload(alice, { device_keys: other.deviceKeys });
    expect([replaced.status, replaced.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const bobsKeys = makeDeviceKeys(bob.userId, bob.deviceId);
    const forBob = await upload(alice, { device_keys: bobsKeys.deviceKeys });
    expect(forBob.status).toBe(400);
    const tampered = { ...makeDeviceKeys(bob.userId, bob.deviceId).deviceKeys, algorithms: ['m.olm.v1.curve25519-aes-sha2'] };
    const badSig = await upload(bob, { device_keys: tampered });
    expect([badSig.status, badSig.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const malformed = await upload(bob, { device_keys: { user_id: bob.userId } });
    expect([malformed.status, malformed.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    expect(await t.hs.sql`SELECT 1 FROM device_keys WHERE user_id = ${bob.userId}`).toHaveLength(0);
  });
});

describe('query and claim', () => {
  test('query returns the device keys with the display name; unknown users are empty', async () => {
    const res = await t.http.post(`${V3}/keys/query`).set(bob.auth).send({ device_keys: { [alice.userId]: [], '@nobody:test.local': [] } });
    expect(res.status).toBe(200);
    expectValidResponseById('queryKeys', 200, res.body);
    const dev = res.body.device_keys[alice.userId][alice.deviceId];
    expect(dev.keys).toEqual((aliceKeys.deviceKeys as { keys: unknown }).keys);
    expect(res.body.device_keys['@nobody:test.local']).toEqual({});
  });

  test('claims hand out keys in upload order, each once, then the fallback key', async () => {
    await upload(alice, { fallback_keys: { 'signed_curve25519:FB1': aliceKeys.sign({ key: 'fallback', fallback: true }) } });
    const claim = () =>
      t.http.post(`${V3}/keys/claim`).set(bob.auth).send({ one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await claim();
      expect(res.status).toBe(200);
      expectValidResponseById('claimKeys', 200, res.body);
      ids.push(...Object.keys(res.body.one_time_keys[alice.userId][alice.deviceId]));
    }
    expect(ids).toEqual(['signed_curve25519:AAAA0', 'signed_curve25519:AAAA1', 'signed_curve25519:AAAA2', 'signed_curve25519:FB1']);
    const again = await claim();
    expect(Object.keys(again.body.one_time_keys[alice.userId][alice.deviceId])).toEqual(['signed_curve25519:FB1']);
    const unknown = await t.http.post(`${V3}/keys/claim`).set(bob.auth).send({ one_time_keys: { '@nobody:test.local': { X: 'signed_curve25519' } } });
    expect(unknown.body.one_time_keys).toEqual({});
  });

  test('concurrent claims never receive the same one-time key', async () => {
    await upload(alice, { one_time_keys: oneTimeKeys(aliceKeys, 20, 'CC') });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.http.post(`${V3}/keys/claim`).set(bob.auth).send({ one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } }),
      ),
    );
    const ids = results.map((r) => Object.keys(r.body.one_time_keys[alice.userId][alice.deviceId])[0]);
    expect(new Set(ids).size).toBe(20);
    expect(ids.every((id) => id.startsWith('signed_curve25519:CC'))).toBe(true);
  });
});

describe('device list changes', () => {
  test('/keys/changes names a user who shares a room and uploaded or deleted a device', async () => {
    const carol = await registerUser(t, 'carol');
    const room = await rooms.createRoom(carol, { preset: 'public_chat' });
    await rooms.join(bob, room);
    const from = `s${(await t.hs.sql`SELECT pos FROM stream_head`)[0].pos}`;
    const carolKeys = makeDeviceKeys(carol.userId, carol.deviceId);
    expect((await upload(carol, { device_keys: carolKeys.deviceKeys })).status).toBe(200);
    const to = `s${(await t.hs.sql`SELECT pos FROM stream_head`)[0].pos}`;
    const res = await t.http.get(`${V3}/keys/changes`).query({ from, to }).set(bob.auth);
    expect(res.status).toBe(200);
    expect(res.body.changed).toContain(carol.userId);
    const bad = await t.http.get(`${V3}/keys/changes`).query({ from: 'nope', to }).set(bob.auth);
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  test('deleting a device deletes its keys and records a change', async () => {
    const dave = await registerUser(t, 'dave');
    const keys = makeDeviceKeys(dave.userId, dave.deviceId);
    await upload(dave, { device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, 2) });
    const before = (await t.hs.sql`SELECT count(*)::int AS n FROM device_list_changes WHERE user_id = ${dave.userId}`)[0].n;
    expect((await t.http.post(`${V3}/logout`).set(dave.auth).send({})).status).toBe(200);
    expect(await t.hs.sql`SELECT 1 FROM device_keys WHERE user_id = ${dave.userId}`).toHaveLength(0);
    expect(await t.hs.sql`SELECT 1 FROM one_time_keys WHERE user_id = ${dave.userId}`).toHaveLength(0);
    const after = (await t.hs.sql`SELECT count(*)::int AS n FROM device_list_changes WHERE user_id = ${dave.userId}`)[0].n;
    expect(after).toBe(before + 1);
  });
});

describe('to-device', () => {
  test('messages to a device and to * are stored per device, once per transaction id; unknown devices are skipped', async () => {
    const send = (txn: string, messages: unknown) => t.http.put(`${V3}/sendToDevice/m.dummy/${txn}`).set(bob.auth).send({ messages });
    expect((await send('t1', { [alice.userId]: { [alice.deviceId]: {}, NODEVICE: {} } })).status).toBe(200);
    expect((await send('t1', { [alice.userId]: { [alice.deviceId]: {} } })).status).toBe(200);
    const rows = await t.hs.sql`SELECT device_id, content FROM to_device_inbox WHERE user_id = ${alice.userId}`;
    expect(rows).toHaveLength(1);
    const bad = await send('t2', { 'not-a-user': {} });
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_BAD_JSON']);
  });
});
