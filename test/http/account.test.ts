import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { asUser, dbCounts, login, passwordAuth, whoamiStatus, withPasswordUia } from '../support/accounts.js';
import { roomHelpers, V3 } from '../support/rooms.js';

const NEW_PASSWORD = 'a brand new password';
const CHANGE = `${V3}/account/password`;
const DEACTIVATE = `${V3}/account/deactivate`;

let t: TestServer;
let bob: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  bob = await registerUser(t, 'bob', 'bob has another password');
});
afterAll(() => t.close());

const { createRoom } = roomHelpers(() => t.http);

async function passwordHash(userId: string): Promise<string | null> {
  const [row] = await t.hs.sql`SELECT password_hash FROM users WHERE user_id = ${userId}`;
  return row.passwordHash as string | null;
}

/** A user with two more devices besides the registration one (the last with a refresh token). */
async function userWithDevices(localpart: string) {
  const main = await registerUser(t, localpart, PASSWORD);
  const second = asUser((await login(t, localpart, PASSWORD)).body, PASSWORD);
  const thirdRes = await login(t, localpart, PASSWORD, { refresh_token: true });
  return { main, second, third: asUser(thirdRes.body, PASSWORD), thirdRefresh: thirdRes.body.refresh_token as string };
}

async function deviceIdsOf(userId: string): Promise<string[]> {
  return (await t.hs.sql<{ deviceId: string }[]>`SELECT device_id FROM devices WHERE user_id = ${userId} ORDER BY device_id`).map((r) => r.deviceId);
}

describe('POST /account/password', () => {
  test('changes the password and logs out every other device (logout_devices defaults to true)', async () => {
    const { main, second, third, thirdRefresh } = await userWithDevices('carol');
    const first = await t.http.post(CHANGE).set(main.auth).send({ new_password: NEW_PASSWORD });
    expect(first.status).toBe(401);
    expectValidResponse('POST', CHANGE, 401, first.body);
    expect(first.body.flows).toEqual([{ stages: ['m.login.password'] }]);
    const res = await t.http
      .post(CHANGE)
      .set(main.auth)
      .send({ new_password: NEW_PASSWORD, auth: passwordAuth(main.userId, PASSWORD, first.body.session) });
    expect(res.status).toBe(200);
    expectValidResponse('POST', CHANGE, 200, res.body);
    expect(res.body).toEqual({});

    // The requesting session survives; every other device and its tokens are gone.
    expect(await whoamiStatus(t, main.accessToken)).toBe(200);
    expect(await whoamiStatus(t, second.accessToken)).toBe(401);
    expect(await whoamiStatus(t, third.accessToken)).toBe(401);
    expect((await t.http.post(`${V3}/refresh`).send({ refresh_token: thirdRefresh })).status).toBe(401);
    expect(await deviceIdsOf(main.userId)).toEqual([main.deviceId]);

    const old = await login(t, 'carol', PASSWORD);
    expect([old.status, old.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect((await login(t, 'carol', NEW_PASSWORD)).status).toBe(200);
  });

  test('logout_devices: false keeps the other devices', async () => {
    const { main, second, third } = await userWithDevices('dave');
    const res = await withPasswordUia(t, 'post', CHANGE, main, { new_password: NEW_PASSWORD, logout_devices: false });
    expect(res.status).toBe(200);
    for (const u of [main, second, third]) expect(await whoamiStatus(t, u.accessToken)).toBe(200);
    expect((await deviceIdsOf(main.userId)).length).toBe(3);
    expect((await login(t, 'dave', NEW_PASSWORD)).status).toBe(200);
    expect((await login(t, 'dave', PASSWORD)).status).toBe(403);
  });

  test('a wrong password, or another user’s credentials, change nothing', async () => {
    const erin = await registerUser(t, 'erin', PASSWORD);
    const hash = await passwordHash(erin.userId);
    const first = await t.http.post(CHANGE).set(erin.auth).send({ new_password: NEW_PASSWORD });
    for (const auth of [passwordAuth(erin.userId, 'wrong', first.body.session), passwordAuth(bob.userId, bob.password, first.body.session)]) {
      const res = await t.http.post(CHANGE).set(erin.auth).send({ new_password: NEW_PASSWORD, auth });
      expect([res.status, res.body.errcode, res.body.session]).toEqual([401, 'M_FORBIDDEN', first.body.session]);
      expectValidResponse('POST', CHANGE, 401, res.body);
    }
    expect(await passwordHash(erin.userId)).toBe(hash);
    expect(await passwordHash(bob.userId)).not.toBe(hash);
    expect((await login(t, 'erin', PASSWORD)).status).toBe(200);
  });

  test('bad bodies are refused and write nothing', async () => {
    const frank = await registerUser(t, 'frank', PASSWORD);
    const hash = await passwordHash(frank.userId);
    const before = await dbCounts(t);
    const missing = await t.http.post(CHANGE).set(frank.auth).send({ auth: passwordAuth(frank.userId, PASSWORD) });
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const wrongType = await t.http.post(CHANGE).set(frank.auth).send({ new_password: 12345678, auth: passwordAuth(frank.userId, PASSWORD) });
    expect([wrongType.status, wrongType.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    const badFlag = await t.http
      .post(CHANGE)
      .set(frank.auth)
      .send({ new_password: NEW_PASSWORD, logout_devices: 'no', auth: passwordAuth(frank.userId, PASSWORD) });
    expect([badFlag.status, badFlag.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    expect(await dbCounts(t)).toEqual(before);
    const empty = await withPasswordUia(t, 'post', CHANGE, frank, { new_password: '' });
    expect([empty.status, empty.body.errcode]).toEqual([400, 'M_WEAK_PASSWORD']);
    expect(await passwordHash(frank.userId)).toBe(hash);
  });
});

describe('POST /account/deactivate', () => {
  test('deactivation ends every session; the account cannot log in or be registered again', async () => {
    const { main, second, third, thirdRefresh } = await userWithDevices('grace');
    const first = await t.http.post(DEACTIVATE).set(main.auth).send({});
    expect(first.status).toBe(401);
    expectValidResponse('POST', DEACTIVATE, 401, first.body);
    const res = await t.http.post(DEACTIVATE).set(main.auth).send({ auth: passwordAuth('grace', PASSWORD, first.body.session) });
    expect(res.status).toBe(200);
    expectValidResponse('POST', DEACTIVATE, 200, res.body);
    // No third-party ids are ever bound here, so there is nothing to unbind: the spec asks for "success".
    expect(res.body).toEqual({ id_server_unbind_result: 'success' });

    for (const u of [main, second, third]) {
      const dead = await t.http.get(`${V3}/account/whoami`).set(u.auth);
      expect([dead.status, dead.body.errcode, dead.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    }
    expect((await t.http.post(`${V3}/refresh`).send({ refresh_token: thirdRefresh })).status).toBe(401);
    expect(await deviceIdsOf(main.userId)).toEqual([]);

    const again = await login(t, 'grace', PASSWORD);
    expect([again.status, again.body.errcode]).toEqual([403, 'M_USER_DEACTIVATED']);
    expectValidResponse('POST', `${V3}/login`, 403, again.body);
    const reRegister = await t.http.post(`${V3}/register`).send({ username: 'grace', password: PASSWORD });
    expect([reRegister.status, reRegister.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
    const profile = await t.http.get(`${V3}/profile/${encodeURIComponent(main.userId)}`);
    expect([profile.status, profile.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expect(await passwordHash(main.userId)).toBeNull();
  });

  test('a deactivated account leaves its rooms and rejects its invites', async () => {
    const owner = await registerUser(t, 'roomowner', PASSWORD);
    const leaver = await registerUser(t, 'leaver', PASSWORD);
    const joined = await createRoom(leaver);
    const invitedTo = await createRoom(owner, { invite: [leaver.userId] });
    const res = await withPasswordUia(t, 'post', DEACTIVATE, leaver, {});
    expect(res.status).toBe(200);
    const rows = await t.hs.sql`SELECT room_id, membership FROM current_state WHERE type = 'm.room.member' AND state_key = ${leaver.userId} ORDER BY room_id`;
    expect(rows.map((r) => [r.roomId, r.membership]).sort()).toEqual([[joined, 'leave'], [invitedTo, 'leave']].sort());
  });

  test('erase: true also clears the profile and the account data', async () => {
    const heidi = await registerUser(t, 'heidi', PASSWORD);
    await t.http.put(`${V3}/profile/${encodeURIComponent(heidi.userId)}/displayname`).set(heidi.auth).send({ displayname: 'Heidi H.' });
    await t.http.put(`${V3}/user/${encodeURIComponent(heidi.userId)}/account_data/org.example.notes`).set(heidi.auth).send({ n: 1 });
    const res = await withPasswordUia(t, 'post', DEACTIVATE, heidi, { erase: true });
    expect(res.status).toBe(200);
    expectValidResponse('POST', DEACTIVATE, 200, res.body);
    const [row] = await t.hs.sql`SELECT profile, deactivated FROM users WHERE user_id = ${heidi.userId}`;
    expect(row).toEqual({ profile: {}, deactivated: true });
    expect(await t.hs.sql`SELECT 1 FROM account_data WHERE user_id = ${heidi.userId}`).toHaveLength(0);
    expect((await t.http.get(`${V3}/profile/${encodeURIComponent(heidi.userId)}`)).status).toBe(404);
  });

  test('without the right password, or with bad input, nothing is deactivated', async () => {
    const ivan = await registerUser(t, 'ivan', PASSWORD);
    const before = await dbCounts(t);
    const badErase = await t.http.post(DEACTIVATE).set(ivan.auth).send({ erase: 'yes', auth: passwordAuth(ivan.userId, PASSWORD) });
    expect([badErase.status, badErase.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    expect(await dbCounts(t)).toEqual(before);
    const first = await t.http.post(DEACTIVATE).set(ivan.auth).send({});
    for (const auth of [passwordAuth(ivan.userId, 'wrong', first.body.session), passwordAuth(bob.userId, bob.password, first.body.session)]) {
      const res = await t.http.post(DEACTIVATE).set(ivan.auth).send({ auth });
      expect([res.status, res.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    }
    const [row] = await t.hs.sql`SELECT deactivated FROM users WHERE user_id = ${ivan.userId}`;
    expect(row.deactivated).toBe(false);
    expect(await whoamiStatus(t, ivan.accessToken)).toBe(200);
    expect(await whoamiStatus(t, bob.accessToken)).toBe(200);
  });
});
