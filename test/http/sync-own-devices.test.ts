/**
 * Device lists include yourself: when a user's own devices change (a new login, a rename, a deletion, new device
 * keys, a cross-signing change), their own user id is in device_lists.changed of their other devices' syncs and in
 * /keys/changes, as for a user sharing a room (spec: "Tracking the device list for a user"). Element relies on it to
 * verify a new login. A waiting long-poll of the other device is woken by the change.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { asUser, login, withPasswordUia } from '../support/accounts.js';
import { crossSigning, makeDeviceKeys } from '../support/device-keys.js';
import { roomHelpers, V3, type SyncBody } from '../support/rooms.js';
import { expectValidResponseById } from '../support/spec.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(['alice', 'bob'])));
afterAll(() => t.close());

const { createRoom, join, sync } = roomHelpers(() => t.http);

async function newLogin(u: TestUser, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const res = await login(t, u.userId, u.password, extra);
  expect(res.status).toBe(200);
  return asUser(res.body, u.password);
}

async function keysChanges(u: TestUser, from: string, to: string): Promise<string[]> {
  const res = await t.http.get(`${V3}/keys/changes`).query({ from, to }).set(u.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getKeysChanges', 200, res.body);
  return res.body.changed as string[];
}

/** Runs `change` while `watcher` long-polls from a fresh token; the woken sync's device_lists and /keys/changes. */
async function seenBy(watcher: TestUser, change: () => Promise<void>): Promise<{ body: SyncBody; keysChanged: string[] }> {
  const start = (await sync(watcher)).next_batch;
  const pending = sync(watcher, { since: start, timeout: 30_000 });
  await change();
  const body = await pending;
  return { body, keysChanged: await keysChanges(watcher, start, body.next_batch) };
}

describe("a user's own device changes reach their other devices", () => {
  test('a new login (no keys uploaded yet)', async () => {
    const { body, keysChanged } = await seenBy(alice, async () => void (await newLogin(alice)));
    expect(body.device_lists.changed).toContain(alice.userId);
    expect(keysChanged).toContain(alice.userId);
  });

  test('logging in again on an existing device id is not a new device', async () => {
    const second = await newLogin(alice, { device_id: 'ALICE_AGAIN' });
    const start = (await sync(alice)).next_batch;
    await newLogin(alice, { device_id: second.deviceId });
    const after = await sync(alice, { since: start });
    expect(after.device_lists.changed ?? []).not.toContain(alice.userId);
  });

  test('a rename (and a rename to the same name changes nothing)', async () => {
    const other = await newLogin(alice);
    const rename = (name: string) => async () => {
      const res = await t.http.put(`${V3}/devices/${other.deviceId}`).set(other.auth).send({ display_name: name });
      expect(res.status).toBe(200);
    };
    const { body, keysChanged } = await seenBy(alice, rename('Laptop'));
    expect(body.device_lists.changed).toContain(alice.userId);
    expect(keysChanged).toContain(alice.userId);
    const start = (await sync(alice)).next_batch;
    await rename('Laptop')();
    expect((await sync(alice, { since: start })).device_lists.changed ?? []).not.toContain(alice.userId);
    // Renaming a device one does not have is still 404, and records nothing.
    const missing = await t.http.put(`${V3}/devices/NOSUCHDEVICE`).set(alice.auth).send({ display_name: 'x' });
    expect(missing.status).toBe(404);
    expect((await sync(alice, { since: start })).device_lists.changed ?? []).not.toContain(alice.userId);
  });

  test('a deletion and a logout', async () => {
    const doomed = await newLogin(alice);
    const deleted = await seenBy(alice, async () => {
      const res = await withPasswordUia(t, 'delete', `${V3}/devices/${doomed.deviceId}`, alice);
      expect(res.status).toBe(200);
    });
    expect(deleted.body.device_lists.changed).toContain(alice.userId);
    expect(deleted.keysChanged).toContain(alice.userId);
    const leaving = await newLogin(alice);
    const loggedOut = await seenBy(alice, async () => {
      expect((await t.http.post(`${V3}/logout`).set(leaving.auth).send({})).status).toBe(200);
    });
    expect(loggedOut.body.device_lists.changed).toContain(alice.userId);
  });

  test('device keys uploaded by another device, and a cross-signing change', async () => {
    const other = await newLogin(alice);
    const keys = makeDeviceKeys(alice.userId, other.deviceId);
    const uploaded = await seenBy(alice, async () => {
      expect((await t.http.post(`${V3}/keys/upload`).set(other.auth).send({ device_keys: keys.deviceKeys })).status).toBe(200);
    });
    expect(uploaded.body.device_lists.changed).toContain(alice.userId);
    const crossSigned = await seenBy(alice, async () => {
      // The first upload needs no user-interactive auth.
      const res = await t.http.post(`${V3}/keys/device_signing/upload`).set(other.auth).send(crossSigning(alice.userId).body);
      expect(res.status).toBe(200);
    });
    expect(crossSigned.body.device_lists.changed).toContain(alice.userId);
    expect(crossSigned.keysChanged).toContain(alice.userId);
  });

  test('someone sharing a room sees the new login too; a stranger does not', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, room);
    const { body } = await seenBy(bob, async () => void (await newLogin(alice)));
    expect(body.device_lists.changed).toContain(alice.userId);
    const stranger = await registerUser(t);
    const start = (await sync(stranger)).next_batch;
    await newLogin(alice);
    expect((await sync(stranger, { since: start })).device_lists.changed ?? []).not.toContain(alice.userId);
  });
});
