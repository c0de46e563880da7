/**
 * The E2EE sections of /sync: to-device messages in order, bounded per response, re-delivered until acknowledged
 * and then deleted; device_lists.changed/left; one-time key counts; fallback key types always present.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys, oneTimeKeys } from '../support/device-keys.js';
import { roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(['alice', 'bob'])));
afterAll(() => t.close());

const { createRoom, join, leave, sync } = roomHelpers(() => t.http);
const inbox = async (u: TestUser) => (await t.hs.sql`SELECT count(*)::int AS n FROM to_device_inbox WHERE user_id = ${u.userId}`)[0].n as number;

/** An Olm envelope (to-device messages that carry keys travel only inside one); `body` tells messages apart. */
const olm = (body: string) => ({ algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body } } });

describe('to-device', () => {
  test('delivered in order, re-delivered until acknowledged, then deleted', async () => {
    const first = await sync(alice);
    for (let i = 0; i < 3; i++) {
      await t.http.put(`${V3}/sendToDevice/m.room.encrypted/txn${i}`).set(bob.auth).send({ messages: { [alice.userId]: { [alice.deviceId]: olm(`n${i}`) } } });
    }
    const got = await sync(alice, { since: first.next_batch });
    expect(got.to_device.events.map((e: { content: ReturnType<typeof olm> }) => e.content.ciphertext.KEY.body)).toEqual(['n0', 'n1', 'n2']);
    expect(got.to_device.events[0]).toMatchObject({ sender: bob.userId, type: 'm.room.encrypted' });
    // The response was lost: the client syncs again with the same token and gets them again.
    const retry = await sync(alice, { since: first.next_batch });
    expect(retry.to_device.events).toHaveLength(3);
    expect(await inbox(alice)).toBe(3);
    const acked = await sync(alice, { since: retry.next_batch });
    expect(acked.to_device.events).toHaveLength(0);
    expect(await inbox(alice)).toBe(0);
  });

  test('at most 100 per response; the rest follow at once in the next', async () => {
    const start = await sync(alice);
    const messages = { [alice.userId]: Object.fromEntries([[alice.deviceId, {}]]) };
    for (let i = 0; i < 130; i++) await t.http.put(`${V3}/sendToDevice/m.dummy/bulk${i}`).set(bob.auth).send({ messages });
    const page1 = await sync(alice, { since: start.next_batch });
    expect(page1.to_device.events).toHaveLength(100);
    const page2 = await sync(alice, { since: page1.next_batch, timeout: 30000 });
    expect(page2.to_device.events).toHaveLength(30);
    await sync(alice, { since: page2.next_batch });
    expect(await inbox(alice)).toBe(0);
  });

  test('a long-poll wakes for a to-device message', async () => {
    const start = await sync(alice);
    const pending = sync(alice, { since: start.next_batch, timeout: 20000 });
    await t.http.put(`${V3}/sendToDevice/m.room.encrypted/wake1`).set(bob.auth).send({ messages: { [alice.userId]: { '*': olm('wake') } } });
    const res = await pending;
    expect(res.to_device.events).toHaveLength(1);
  });
});

describe('keys in sync', () => {
  test('one-time key counts and fallback key types are always present', async () => {
    const keys = makeDeviceKeys(bob.userId, bob.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, 5) });
    const res = await sync(bob);
    expect(res.device_one_time_keys_count).toEqual({ signed_curve25519: 5 });
    expect(res.device_unused_fallback_key_types).toEqual([]);
    await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ fallback_keys: { 'signed_curve25519:FB': keys.sign({ key: 'kA', fallback: true }) } });
    expect((await sync(bob)).device_unused_fallback_key_types).toEqual(['signed_curve25519']);
  });

  test('device_lists.changed when a room member adds a device; left when they leave the last shared room', async () => {
    const carol = await registerUser(t, 'carol');
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, room);
    const start = await sync(alice);
    // Carol logs in on a new device and uploads its keys; Alice's waiting long-poll is woken.
    const login = await t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: carol.password });
    const carol2 = { ...carol, deviceId: login.body.device_id, auth: { Authorization: `Bearer ${login.body.access_token}` } };
    const pending = sync(alice, { since: start.next_batch, timeout: 20000 });
    const keys = makeDeviceKeys(carol.userId, carol2.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(carol2.auth).send({ device_keys: keys.deviceKeys });
    const changed = await pending;
    expect(changed.device_lists.changed).toContain(carol.userId);
    const next = changed.next_batch;
    await leave(carol, room);
    const left = await sync(alice, { since: next });
    expect(left.device_lists.left).toContain(carol.userId);
  });
});
