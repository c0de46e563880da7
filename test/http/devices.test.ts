import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { ALICE_AND_BOB, asUser, bearer, dbCounts, login, passwordAuth, whoamiStatus, withPasswordUia } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

const DEVICES = `${V3}/devices`;
const DEVICE = `${V3}/devices/{deviceId}`;

let t: TestServer;
let alice: TestUser, bob: TestUser;
beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(ALICE_AND_BOB)));
afterAll(() => t.close());

async function newAliceDevice(extra: Record<string, unknown> = {}): Promise<TestUser> {
  const res = await login(t, 'alice', PASSWORD, extra);
  expect(res.status).toBe(200);
  return asUser(res.body, PASSWORD);
}

async function deviceIds(u: TestUser): Promise<string[]> {
  const res = await t.http.get(DEVICES).set(u.auth);
  expect(res.status).toBe(200);
  return res.body.devices.map((d: { device_id: string }) => d.device_id).sort();
}

describe('listing and reading devices', () => {
  test('GET /devices lists the own devices with names and last-seen times, and nobody else’s', async () => {
    const phone = await newAliceDevice({ initial_device_display_name: 'Alice phone' });
    const res = await t.http.get(DEVICES).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponse('GET', DEVICES, 200, res.body);
    const listed = res.body.devices as { device_id: string; display_name?: string; last_seen_ts?: number; last_seen_ip?: string }[];
    expect(listed.map((d) => d.device_id)).toEqual(expect.arrayContaining([alice.deviceId, phone.deviceId]));
    expect(listed.map((d) => d.device_id)).not.toContain(bob.deviceId);
    const entry = listed.find((d) => d.device_id === phone.deviceId)!;
    expect(entry.display_name).toBe('Alice phone');
    expect(entry.last_seen_ts).toBeGreaterThan(Date.now() - 60_000);
    // No client addresses are kept.
    expect(entry.last_seen_ip).toBeUndefined();
    // A device without a name has no display_name at all.
    expect(listed.find((d) => d.device_id === alice.deviceId)).not.toHaveProperty('display_name');
  });

  test('GET /devices/{deviceId}: own device 200; unknown or someone else’s device 404', async () => {
    const res = await t.http.get(`${DEVICES}/${alice.deviceId}`).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponse('GET', DEVICE, 200, res.body);
    expect(res.body.device_id).toBe(alice.deviceId);
    for (const id of ['NOSUCHDEVICE', bob.deviceId]) {
      const missing = await t.http.get(`${DEVICES}/${id}`).set(alice.auth);
      expect([missing.status, missing.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    }
  });

  test('devices need an access token', async () => {
    const res = await t.http.get(DEVICES);
    expect([res.status, res.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
  });
});

describe('renaming devices', () => {
  test('PUT /devices/{deviceId} renames the own device; an empty body changes nothing', async () => {
    const d = await newAliceDevice({ initial_device_display_name: 'Old name' });
    const res = await t.http.put(`${DEVICES}/${d.deviceId}`).set(alice.auth).send({ display_name: 'New name' });
    expect(res.status).toBe(200);
    expectValidResponse('PUT', DEVICE, 200, res.body);
    expect(res.body).toEqual({});
    expect((await t.http.get(`${DEVICES}/${d.deviceId}`).set(alice.auth)).body.display_name).toBe('New name');
    const empty = await t.http.put(`${DEVICES}/${d.deviceId}`).set(alice.auth).send({});
    expect(empty.status).toBe(200);
    expect((await t.http.get(`${DEVICES}/${d.deviceId}`).set(alice.auth)).body.display_name).toBe('New name');
  });

  test('renaming someone else’s or an unknown device is 404 and changes nothing', async () => {
    const before = await t.hs.sql`SELECT display_name FROM devices WHERE user_id = ${bob.userId} AND device_id = ${bob.deviceId}`;
    const other = await t.http.put(`${DEVICES}/${bob.deviceId}`).set(alice.auth).send({ display_name: 'Hijacked' });
    expect([other.status, other.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    const otherEmpty = await t.http.put(`${DEVICES}/${bob.deviceId}`).set(alice.auth).send({});
    expect([otherEmpty.status, otherEmpty.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expect(await t.hs.sql`SELECT display_name FROM devices WHERE user_id = ${bob.userId} AND device_id = ${bob.deviceId}`).toEqual(before);
    const counts = await dbCounts(t);
    const unknown = await t.http.put(`${DEVICES}/NOSUCHDEVICE`).set(alice.auth).send({ display_name: 'Ghost' });
    expect([unknown.status, unknown.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expect(await dbCounts(t)).toEqual(counts);
  });

  test('a display_name of the wrong type is M_BAD_JSON', async () => {
    for (const display_name of [42, null, { name: 'x' }]) {
      const res = await t.http.put(`${DEVICES}/${alice.deviceId}`).set(alice.auth).send({ display_name });
      expect([res.status, res.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    }
  });
});

describe('deleting devices', () => {
  test('DELETE /devices/{deviceId} with the password removes the device and ends its tokens', async () => {
    const d = await newAliceDevice({ refresh_token: true });
    const refreshToken = (await t.hs.sql`SELECT 1 FROM refresh_tokens WHERE device_id = ${d.deviceId}`).length;
    expect(refreshToken).toBe(1);
    const res = await withPasswordUia(t, 'delete', `${DEVICES}/${d.deviceId}`, alice);
    expect(res.status).toBe(200);
    expectValidResponse('DELETE', DEVICE, 200, res.body);
    expect(await deviceIds(alice)).not.toContain(d.deviceId);
    const dead = await t.http.get(`${V3}/account/whoami`).set(d.auth);
    expect([dead.status, dead.body.errcode, dead.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    expect(await t.hs.sql`SELECT 1 FROM refresh_tokens WHERE device_id = ${d.deviceId}`).toHaveLength(0);
    expect(await whoamiStatus(t, alice.accessToken)).toBe(200);
  });

  test('deleting the device one is using logs it out', async () => {
    const d = await newAliceDevice();
    const res = await withPasswordUia(t, 'delete', `${DEVICES}/${d.deviceId}`, d);
    expect(res.status).toBe(200);
    expect(await whoamiStatus(t, d.accessToken)).toBe(401);
  });

  test('deleting someone else’s device id succeeds as a no-op and leaves their device alone', async () => {
    const res = await withPasswordUia(t, 'delete', `${DEVICES}/${bob.deviceId}`, alice);
    expect(res.status).toBe(200);
    expect(await deviceIds(bob)).toContain(bob.deviceId);
    expect(await whoamiStatus(t, bob.accessToken)).toBe(200);
    const gone = await withPasswordUia(t, 'delete', `${DEVICES}/NEVEREXISTED`, alice);
    expect(gone.status).toBe(200);
  });

  test('without the right password nothing is deleted', async () => {
    const d = await newAliceDevice();
    const before = await dbCounts(t);
    const first = await t.http.delete(`${DEVICES}/${d.deviceId}`).set(alice.auth).send({});
    const wrong = await t.http
      .delete(`${DEVICES}/${d.deviceId}`)
      .set(alice.auth)
      .send({ auth: passwordAuth(alice.userId, bob.password, first.body.session) });
    expect([wrong.status, wrong.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    const after = await dbCounts(t);
    expect({ ...after, uia_sessions: before.uia_sessions }).toEqual(before);
    expect(await whoamiStatus(t, d.accessToken)).toBe(200);
  });

  test('POST /delete_devices removes several own devices at once, and only own ones', async () => {
    const d1 = await newAliceDevice();
    const d2 = await newAliceDevice();
    const keep = await newAliceDevice();
    const res = await withPasswordUia(t, 'post', `${V3}/delete_devices`, alice, { devices: [d1.deviceId, d2.deviceId, bob.deviceId, d1.deviceId] });
    expect(res.status).toBe(200);
    expectValidResponse('POST', `${V3}/delete_devices`, 200, res.body);
    const left = await deviceIds(alice);
    expect(left).not.toContain(d1.deviceId);
    expect(left).not.toContain(d2.deviceId);
    expect(left).toContain(keep.deviceId);
    expect(await whoamiStatus(t, d1.accessToken)).toBe(401);
    expect(await whoamiStatus(t, d2.accessToken)).toBe(401);
    expect(await whoamiStatus(t, keep.accessToken)).toBe(200);
    expect(await whoamiStatus(t, bob.accessToken)).toBe(200);
  });

  test('a delete_devices session approves exactly its list of devices', async () => {
    const d1 = await newAliceDevice();
    const d2 = await newAliceDevice();
    const first = await t.http.post(`${V3}/delete_devices`).set(alice.auth).send({ devices: [d1.deviceId] });
    expect(first.status).toBe(401);
    expectValidResponse('POST', `${V3}/delete_devices`, 401, first.body);
    const widened = await t.http
      .post(`${V3}/delete_devices`)
      .set(alice.auth)
      .send({ devices: [d1.deviceId, d2.deviceId], auth: passwordAuth(alice.userId, PASSWORD, first.body.session) });
    expect([widened.status, widened.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await whoamiStatus(t, d1.accessToken)).toBe(200);
    expect(await whoamiStatus(t, d2.accessToken)).toBe(200);
  });

  test('bad delete_devices bodies are refused and write nothing', async () => {
    const before = await dbCounts(t);
    const missing = await t.http.post(`${V3}/delete_devices`).set(alice.auth).send({});
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const notArray = await t.http.post(`${V3}/delete_devices`).set(alice.auth).send({ devices: alice.deviceId });
    expect([notArray.status, notArray.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    const notStrings = await t.http.post(`${V3}/delete_devices`).set(alice.auth).send({ devices: [1, 2] });
    expect([notStrings.status, notStrings.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    expect(await dbCounts(t)).toEqual(before);
  });
});

describe('guests and devices', () => {
  test('a guest may list, read and rename its devices (spec: Guest Access) but not delete them', async () => {
    const guest = (await t.http.post(`${V3}/register?kind=guest`).send({})).body;
    const auth = bearer(guest.access_token);
    const list = await t.http.get(DEVICES).set(auth);
    expect(list.status).toBe(200);
    expect(list.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([guest.device_id]);
    expect((await t.http.get(`${DEVICES}/${guest.device_id}`).set(auth)).status).toBe(200);
    expect((await t.http.put(`${DEVICES}/${guest.device_id}`).set(auth).send({ display_name: 'Guest tab' })).status).toBe(200);
    const del = await t.http.delete(`${DEVICES}/${guest.device_id}`).set(auth).send({});
    expect([del.status, del.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    const bulk = await t.http.post(`${V3}/delete_devices`).set(auth).send({ devices: [guest.device_id] });
    expect([bulk.status, bulk.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    expect(await whoamiStatus(t, guest.access_token)).toBe(200);
  });
});
