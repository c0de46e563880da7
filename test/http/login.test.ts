import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { hashToken } from '../../src/lib/tokens.js';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { ALICE_AND_BOB, bearer, dbCounts, login, whoamiStatus } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

const LOGIN = `${V3}/login`;
const REFRESH = `${V3}/refresh`;
const WHOAMI = `${V3}/account/whoami`;

let t: TestServer;
let alice: TestUser, bob: TestUser;
beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(ALICE_AND_BOB, { publicBaseUrl: 'https://matrix.example.org' })));
afterAll(() => t.close());

async function devicesOf(userId: string): Promise<{ deviceId: string; displayName: string | null }[]> {
  return t.hs.sql`SELECT device_id, display_name FROM devices WHERE user_id = ${userId} ORDER BY created_ts, device_id`;
}

/** Logs in with a refresh token and returns its pair. */
async function refreshableLogin(user = 'alice') {
  const res = await login(t, user, PASSWORD, { refresh_token: true });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; device_id: string; expires_in_ms: number };
}

function refresh(refreshToken: string) {
  return t.http.post(REFRESH).send({ refresh_token: refreshToken });
}

describe('GET /login', () => {
  test('offers m.login.password', async () => {
    const res = await t.http.get(LOGIN);
    expect(res.status).toBe(200);
    expectValidResponse('GET', LOGIN, 200, res.body);
    expect(res.body.flows).toContainEqual({ type: 'm.login.password' });
  });
});

describe('POST /login', () => {
  test.each([
    ['m.id.user with the localpart', { identifier: { type: 'm.id.user', user: 'alice' } }],
    ['m.id.user with the full user id', { identifier: { type: 'm.id.user', user: '@alice:test.local' } }],
    ['m.id.user in upper case', { identifier: { type: 'm.id.user', user: '@ALICE:test.local' } }],
    ['the legacy user field', { user: 'alice' }],
  ])('logs in with %s on a new device', async (_how, who) => {
    const before = (await devicesOf(alice.userId)).length;
    const res = await t.http.post(LOGIN).send({ type: 'm.login.password', password: PASSWORD, ...who });
    expect(res.status).toBe(200);
    expectValidResponse('POST', LOGIN, 200, res.body);
    expect(res.body.user_id).toBe('@alice:test.local');
    expect(res.body.well_known).toEqual({ 'm.homeserver': { base_url: 'https://matrix.example.org' } });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.expires_in_ms).toBeUndefined();
    expect(res.body.device_id).not.toBe(alice.deviceId);
    expect((await devicesOf(alice.userId)).length).toBe(before + 1);
    const who2 = await t.http.get(WHOAMI).set(bearer(res.body.access_token));
    expect(who2.body).toEqual({ user_id: alice.userId, device_id: res.body.device_id, is_guest: false });
  });

  test('initial_device_display_name names the new device', async () => {
    const res = await login(t, 'alice', PASSWORD, { initial_device_display_name: 'Work laptop' });
    expect(res.status).toBe(200);
    const device = (await devicesOf(alice.userId)).find((d) => d.deviceId === res.body.device_id);
    expect(device?.displayName).toBe('Work laptop');
  });

  test('a wrong password and an unknown user give the same 403 M_FORBIDDEN and write nothing', async () => {
    const before = await dbCounts(t);
    const wrongPassword = await login(t, 'alice', 'not the password');
    const unknownUser = await login(t, 'nobody', PASSWORD);
    const otherServer = await login(t, '@alice:elsewhere.example', PASSWORD);
    for (const res of [wrongPassword, unknownUser, otherServer]) {
      expect(res.status).toBe(403);
      expectValidResponse('POST', LOGIN, 403, res.body);
    }
    expect(unknownUser.body).toEqual(wrongPassword.body);
    expect(otherServer.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body.errcode).toBe('M_FORBIDDEN');
    // Bob's password does not open Alice's account.
    expect((await login(t, 'alice', bob.password)).status).toBe(403);
    expect(await dbCounts(t)).toEqual(before);
  });

  test('bad login bodies are refused and write nothing', async () => {
    const before = await dbCounts(t);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ type: 'm.login.token', token: 'abc' }, 400, 'M_UNKNOWN'],
      [{ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' } }, 400, 'M_MISSING_PARAM'],
      [{ type: 'm.login.password', password: PASSWORD }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: PASSWORD }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', identifier: 'alice', password: PASSWORD }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', user: 'alice', password: 12345 }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', user: 'alice', password: PASSWORD, device_id: 7 }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', user: 'alice', password: PASSWORD, refresh_token: 'yes' }, 400, 'M_BAD_JSON'],
      [{ type: 'm.login.password', user: 'alice', password: PASSWORD, device_id: '' }, 400, 'M_INVALID_PARAM'],
      [{ password: PASSWORD }, 400, 'M_MISSING_PARAM'],
    ];
    for (const [body, status, errcode] of cases) {
      const res = await t.http.post(LOGIN).send(body);
      expect([JSON.stringify(body), res.status, res.body.errcode]).toEqual([JSON.stringify(body), status, errcode]);
    }
    expect(await dbCounts(t)).toEqual(before);
  });

  test('a device_id that exists is reused: one device, its name kept, its old token ended', async () => {
    const u = await registerUser(t, 'carol', PASSWORD);
    await t.http.put(`${V3}/devices/${u.deviceId}`).set(u.auth).send({ display_name: 'Carol phone' });
    const res = await login(t, 'carol', PASSWORD, { device_id: u.deviceId, initial_device_display_name: 'Ignored name' });
    expect(res.status).toBe(200);
    expect(res.body.device_id).toBe(u.deviceId);
    const list = await t.http.get(`${V3}/devices`).set(bearer(res.body.access_token));
    expect(list.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([u.deviceId]);
    expect(list.body.devices[0].display_name).toBe('Carol phone');
    // Spec ("Relationship between access tokens and devices"): setting device_id invalidates the device's earlier tokens.
    const old = await t.http.get(WHOAMI).set(u.auth);
    expect([old.status, old.body.errcode, old.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    expect(await whoamiStatus(t, res.body.access_token)).toBe(200);
  });

  test('a new device_id is created as given', async () => {
    const res = await login(t, 'alice', PASSWORD, { device_id: 'MYOWNDEVICE', initial_device_display_name: 'Mine' });
    expect(res.body.device_id).toBe('MYOWNDEVICE');
    const device = (await devicesOf(alice.userId)).find((d) => d.deviceId === 'MYOWNDEVICE');
    expect(device?.displayName).toBe('Mine');
  });

  test("logging in with someone else's device id touches only one's own devices", async () => {
    const bobDevicesBefore = await devicesOf(bob.userId);
    const res = await login(t, 'alice', PASSWORD, { device_id: bob.deviceId });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(alice.userId);
    expect(await devicesOf(bob.userId)).toEqual(bobDevicesBefore);
    expect(await whoamiStatus(t, bob.accessToken)).toBe(200);
    const who = await t.http.get(WHOAMI).set(bearer(res.body.access_token));
    expect(who.body).toMatchObject({ user_id: alice.userId, device_id: bob.deviceId });
  });
});

describe('refresh tokens', () => {
  test('login with refresh_token: true gives an expiring token and a refresh token', async () => {
    const res = await login(t, 'alice', PASSWORD, { refresh_token: true });
    expect(res.status).toBe(200);
    expectValidResponse('POST', LOGIN, 200, res.body);
    expect(res.body.expires_in_ms).toBe(t.hs.config.accessTokenLifetimeMs);
    expect(typeof res.body.refresh_token).toBe('string');
    const [row] = await t.hs.sql`SELECT expires_ts FROM access_tokens WHERE token_hash = ${hashToken(res.body.access_token)}`;
    expect(row.expiresTs).toBeGreaterThan(Date.now());
  });

  test('refresh rotates: the old access token dies at once, the old refresh token once the new pair is used', async () => {
    const first = await refreshableLogin();
    const second = await refresh(first.refresh_token);
    expect(second.status).toBe(200);
    expectValidResponse('POST', REFRESH, 200, second.body);
    expect(second.body.expires_in_ms).toBe(t.hs.config.accessTokenLifetimeMs);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);
    // The old access token is dead right after the refresh.
    const old = await t.http.get(WHOAMI).set(bearer(first.access_token));
    expect([old.status, old.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);

    // The response was "lost": the old refresh token still works, and replaces the unused pair.
    const retry = await refresh(first.refresh_token);
    expect(retry.status).toBe(200);
    expect(await whoamiStatus(t, second.body.access_token)).toBe(401);
    expect((await refresh(second.body.refresh_token)).status).toBe(401);

    // Using the new access token revokes the old refresh token.
    const who = await t.http.get(WHOAMI).set(bearer(retry.body.access_token));
    expect(who.status).toBe(200);
    expect(who.body.device_id).toBe(first.device_id);
    const stale = await refresh(first.refresh_token);
    expect([stale.status, stale.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    expectValidResponse('POST', REFRESH, 401, stale.body);
    expect(await whoamiStatus(t, retry.body.access_token)).toBe(200);
  });

  test('using the new refresh token also revokes the old one', async () => {
    const first = await refreshableLogin();
    const second = (await refresh(first.refresh_token)).body;
    const third = await refresh(second.refresh_token);
    expect(third.status).toBe(200);
    expect((await refresh(first.refresh_token)).status).toBe(401);
    expect(await whoamiStatus(t, third.body.access_token)).toBe(200);
    // The device stays the same through every rotation.
    const who = await t.http.get(WHOAMI).set(bearer(third.body.access_token));
    expect(who.body.device_id).toBe(first.device_id);
  });

  test('an expired access token is a soft logout; the refresh token still works', async () => {
    const pair = await refreshableLogin();
    // Token lifetimes are at least 10 s; expiry is simulated by moving expires_ts into the past.
    await t.hs.sql`UPDATE access_tokens SET expires_ts = ${Date.now() - 1000} WHERE token_hash = ${hashToken(pair.access_token)}`;
    const expired = await t.http.get(WHOAMI).set(bearer(pair.access_token));
    expect([expired.status, expired.body.errcode, expired.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', true]);
    const renewed = await refresh(pair.refresh_token);
    expect(renewed.status).toBe(200);
    expect(await whoamiStatus(t, renewed.body.access_token)).toBe(200);
  });

  test('soft logout recovery: logging in again on the same device keeps it', async () => {
    const pair = await refreshableLogin();
    await t.hs.sql`UPDATE access_tokens SET expires_ts = ${Date.now() - 1000} WHERE token_hash = ${hashToken(pair.access_token)}`;
    const again = await login(t, 'alice', PASSWORD, { device_id: pair.device_id });
    expect(again.status).toBe(200);
    expect(again.body.device_id).toBe(pair.device_id);
    expect(await whoamiStatus(t, again.body.access_token)).toBe(200);
    // The device's earlier session is over, refresh token included.
    expect((await refresh(pair.refresh_token)).status).toBe(401);
  });

  test('unknown and missing refresh tokens are refused', async () => {
    const before = await dbCounts(t);
    const unknown = await refresh('scr_not-a-real-token');
    expect([unknown.status, unknown.body.errcode, unknown.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    const missing = await t.http.post(REFRESH).send({});
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const wrongType = await t.http.post(REFRESH).send({ refresh_token: 5 });
    expect([wrongType.status, wrongType.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    // An access token is not a refresh token.
    const access = await refresh(alice.accessToken);
    expect([access.status, access.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    expect(await dbCounts(t)).toEqual(before);
  });
});

describe('logout', () => {
  test('POST /logout ends the token and deletes its device (with its refresh token)', async () => {
    const pair = await refreshableLogin();
    const other = (await login(t, 'alice', PASSWORD)).body;
    const res = await t.http.post(`${V3}/logout`).set(bearer(pair.access_token)).send({});
    expect(res.status).toBe(200);
    expectValidResponse('POST', `${V3}/logout`, 200, res.body);
    expect(res.body).toEqual({});
    const dead = await t.http.get(WHOAMI).set(bearer(pair.access_token));
    expect([dead.status, dead.body.errcode, dead.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    expect((await devicesOf(alice.userId)).map((d) => d.deviceId)).not.toContain(pair.device_id);
    expect((await refresh(pair.refresh_token)).status).toBe(401);
    expect(await whoamiStatus(t, other.access_token)).toBe(200);
    const again = await t.http.post(`${V3}/logout`).set(bearer(pair.access_token)).send({});
    expect(again.status).toBe(401);
  });

  test('POST /logout/all ends every session of the user and deletes every device, and no one else', async () => {
    const dave = await registerUser(t, 'dave', PASSWORD);
    const second = (await login(t, 'dave', PASSWORD)).body;
    const third = (await login(t, 'dave', PASSWORD, { refresh_token: true })).body;
    const res = await t.http.post(`${V3}/logout/all`).set(dave.auth).send({});
    expect(res.status).toBe(200);
    expectValidResponse('POST', `${V3}/logout/all`, 200, res.body);
    for (const token of [dave.accessToken, second.access_token, third.access_token]) expect(await whoamiStatus(t, token)).toBe(401);
    expect((await refresh(third.refresh_token)).status).toBe(401);
    expect(await devicesOf(dave.userId)).toEqual([]);
    const [tokens] = await t.hs.sql`SELECT count(*)::int AS n FROM access_tokens WHERE user_id = ${dave.userId}`;
    expect(tokens.n).toBe(0);
    expect(await whoamiStatus(t, bob.accessToken)).toBe(200);
    // The password still works: logout is not deactivation.
    expect((await login(t, 'dave', PASSWORD)).status).toBe(200);
  });
});

describe('whoami and access tokens', () => {
  test('whoami names the user and device', async () => {
    const res = await t.http.get(WHOAMI).set(bob.auth);
    expect(res.status).toBe(200);
    expectValidResponse('GET', WHOAMI, 200, res.body);
    expect(res.body).toEqual({ user_id: bob.userId, device_id: bob.deviceId, is_guest: false });
  });

  test('an access token in the query string is accepted (advertised v1.1 to v1.5 define it), but not beside a header', async () => {
    const query = await t.http.get(WHOAMI).query({ access_token: bob.accessToken });
    expect([query.status, query.body.user_id]).toEqual([200, bob.userId]);
    const both = await t.http.get(WHOAMI).query({ access_token: bob.accessToken }).set(bob.auth);
    expect([both.status, both.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
  });

  test.each([
    ['lower-case scheme', (tok: string) => `bearer ${tok}`, 200],
    ['extra spaces', (tok: string) => `Bearer    ${tok}  `, 200],
    ['no scheme', (tok: string) => tok, 401],
    ['Basic scheme', (tok: string) => `Basic ${tok}`, 401],
    ['scheme without token', () => 'Bearer', 401],
    ['two tokens', (tok: string) => `Bearer ${tok} ${tok}`, 401],
  ])('Authorization header with %s', async (_form, header, status) => {
    const res = await t.http.get(WHOAMI).set('Authorization', header(bob.accessToken));
    expect(res.status).toBe(status);
    if (status === 401) expect(res.body.errcode).toBe('M_MISSING_TOKEN');
    else expect(res.body.user_id).toBe(bob.userId);
  });

  test('no token is M_MISSING_TOKEN; an unknown token is M_UNKNOWN_TOKEN without soft logout', async () => {
    const none = await t.http.get(WHOAMI);
    expect([none.status, none.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    const unknown = await t.http.get(WHOAMI).set(bearer('sct_unknown'));
    expect([unknown.status, unknown.body.errcode, unknown.body.soft_logout]).toEqual([401, 'M_UNKNOWN_TOKEN', false]);
    expectValidResponse('GET', WHOAMI, 401, unknown.body);
  });
});
