import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { ALICE_AND_BOB, bearer, dbCounts, login, passwordAuth, whoamiStatus } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

const DEVICE = `${V3}/devices/{deviceId}`;

let t: TestServer;
let alice: TestUser, bob: TestUser;
beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(ALICE_AND_BOB)));
afterAll(() => t.close());

/** A second device of Alice's, to be deleted under UIA. */
async function aliceDevice(): Promise<{ deviceId: string; token: string }> {
  const res = await login(t, 'alice', PASSWORD);
  expect(res.status).toBe(200);
  return { deviceId: res.body.device_id, token: res.body.access_token };
}

function deleteDevice(deviceId: string, auth?: Record<string, unknown>, as: TestUser = alice) {
  return t.http.delete(`${V3}/devices/${encodeURIComponent(deviceId)}`).set(as.auth).send(auth === undefined ? {} : { auth });
}

async function deviceExists(userId: string, deviceId: string): Promise<boolean> {
  return (await t.hs.sql`SELECT 1 FROM devices WHERE user_id = ${userId} AND device_id = ${deviceId}`).length === 1;
}

describe('user-interactive authentication', () => {
  test('a request without auth gets flows, params and a session, and changes nothing', async () => {
    const d = await aliceDevice();
    const res = await deleteDevice(d.deviceId);
    expect(res.status).toBe(401);
    expectValidResponse('DELETE', DEVICE, 401, res.body);
    expect(res.body.flows).toEqual([{ stages: ['m.login.password'] }]);
    expect(res.body.params).toEqual({});
    expect(typeof res.body.session).toBe('string');
    expect(res.body.completed ?? []).toEqual([]);
    expect(res.body.errcode).toBeUndefined();
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
    expect(await whoamiStatus(t, d.token)).toBe(200);
  });

  test('a wrong password is a 401 with the UIA body and M_FORBIDDEN; a retry in the same session succeeds', async () => {
    const d = await aliceDevice();
    const { session } = (await deleteDevice(d.deviceId)).body;
    const wrong = await deleteDevice(d.deviceId, passwordAuth(alice.userId, 'wrong password', session));
    expect(wrong.status).toBe(401);
    expectValidResponse('DELETE', DEVICE, 401, wrong.body);
    expect(wrong.body).toMatchObject({ errcode: 'M_FORBIDDEN', session, flows: [{ stages: ['m.login.password'] }], params: {}, completed: [] });
    expect(typeof wrong.body.error).toBe('string');
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);

    const again = await deleteDevice(d.deviceId, passwordAuth(alice.userId, 'still wrong', session));
    expect([again.status, again.body.errcode, again.body.session]).toEqual([401, 'M_FORBIDDEN', session]);

    const right = await deleteDevice(d.deviceId, passwordAuth('alice', PASSWORD, session));
    expect(right.status).toBe(200);
    expectValidResponse('DELETE', DEVICE, 200, right.body);
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(false);
    expect(await whoamiStatus(t, d.token)).toBe(401);
  });

  test('a session ends with its operation and cannot be replayed', async () => {
    const d1 = await aliceDevice();
    const { session } = (await deleteDevice(d1.deviceId)).body;
    expect((await deleteDevice(d1.deviceId, passwordAuth(alice.userId, PASSWORD, session))).status).toBe(200);
    expect(await t.hs.sql`SELECT 1 FROM uia_sessions WHERE session_id = ${session}`).toHaveLength(0);
    const replay = await deleteDevice(d1.deviceId, { session });
    expect([replay.status, replay.body.errcode]).toEqual([400, 'M_UNKNOWN']);
  });

  test('an unknown session is refused and nothing is deleted', async () => {
    const d = await aliceDevice();
    const before = await dbCounts(t);
    const res = await deleteDevice(d.deviceId, passwordAuth(alice.userId, PASSWORD, 'NoSuchSessionAtAll'));
    expect([res.status, res.body.errcode]).toEqual([400, 'M_UNKNOWN']);
    expect(await dbCounts(t)).toEqual(before);
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
  });

  test('a session is bound to its purpose: another device, another operation', async () => {
    const d1 = await aliceDevice();
    const d2 = await aliceDevice();
    const { session } = (await deleteDevice(d1.deviceId)).body;
    const otherDevice = await deleteDevice(d2.deviceId, passwordAuth(alice.userId, PASSWORD, session));
    expect([otherDevice.status, otherDevice.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const bulk = await t.http
      .post(`${V3}/delete_devices`)
      .set(alice.auth)
      .send({ devices: [d1.deviceId, d2.deviceId], auth: passwordAuth(alice.userId, PASSWORD, session) });
    expect([bulk.status, bulk.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const password = await t.http
      .post(`${V3}/account/password`)
      .set(alice.auth)
      .send({ new_password: 'hijacked', auth: passwordAuth(alice.userId, PASSWORD, session) });
    expect([password.status, password.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const register = await t.http.post(`${V3}/register`).send({ username: 'sneaky', password: PASSWORD, auth: { type: 'm.login.dummy', session } });
    expect([register.status, register.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await deviceExists(alice.userId, d1.deviceId)).toBe(true);
    expect(await deviceExists(alice.userId, d2.deviceId)).toBe(true);
    expect(await t.hs.sql`SELECT 1 FROM users WHERE user_id = '@sneaky:test.local'`).toHaveLength(0);
    expect((await login(t, 'alice', PASSWORD)).status).toBe(200);
    // The session still serves its own purpose.
    expect((await deleteDevice(d1.deviceId, passwordAuth(alice.userId, PASSWORD, session))).status).toBe(200);
  });

  test("a session is bound to its user: Bob cannot continue Alice's session", async () => {
    const d = await aliceDevice();
    const { session } = (await deleteDevice(d.deviceId)).body;
    const res = await deleteDevice(d.deviceId, passwordAuth(bob.userId, bob.password, session), bob);
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
  });

  test("someone else's correct credentials do not authorise the requester's operation", async () => {
    const d = await aliceDevice();
    const { session } = (await deleteDevice(d.deviceId)).body;
    const res = await deleteDevice(d.deviceId, passwordAuth(bob.userId, bob.password, session));
    expect([res.status, res.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    expect(res.body.session).toBe(session);
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
  });

  test('identifiers: full id, localpart, upper case and the legacy user field all name the requester', async () => {
    for (const auth of [
      (s: string) => passwordAuth('@alice:test.local', PASSWORD, s),
      (s: string) => passwordAuth('ALICE', PASSWORD, s),
      (s: string) => ({ type: 'm.login.password', user: 'alice', password: PASSWORD, session: s }),
    ]) {
      const d = await aliceDevice();
      const { session } = (await deleteDevice(d.deviceId)).body;
      const res = await deleteDevice(d.deviceId, auth(session));
      expect(res.status).toBe(200);
      expect(await deviceExists(alice.userId, d.deviceId)).toBe(false);
    }
  });

  test('a stage outside the offered flows is refused with the UIA body', async () => {
    const d = await aliceDevice();
    const { session } = (await deleteDevice(d.deviceId)).body;
    for (const type of ['m.login.dummy', 'm.login.registration_token', 'org.example.custom']) {
      const res = await deleteDevice(d.deviceId, { type, session, token: 'x' });
      expect([type, res.status, res.body.errcode, res.body.session]).toEqual([type, 401, 'M_FORBIDDEN', session]);
      expectValidResponse('DELETE', DEVICE, 401, res.body);
    }
    const noStage = await deleteDevice(d.deviceId, { session });
    expect(noStage.status).toBe(401);
    expect(noStage.body.errcode).toBeUndefined();
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
  });

  test('malformed auth is a 400 and leaves the device', async () => {
    const d = await aliceDevice();
    const { session } = (await deleteDevice(d.deviceId)).body;
    const cases: unknown[] = [
      'password',
      [session],
      { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 123, session },
      { type: 'm.login.password', password: PASSWORD, session },
      { type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: PASSWORD, session },
      { type: 5, session },
    ];
    for (const auth of cases) {
      const res = await t.http.delete(`${V3}/devices/${d.deviceId}`).set(alice.auth).send({ auth });
      expect([JSON.stringify(auth), res.status, res.body.errcode]).toEqual([JSON.stringify(auth), 400, 'M_BAD_JSON']);
    }
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(true);
  });

  test('a complete stage without a session still works in one request (the server starts the session)', async () => {
    const d = await aliceDevice();
    const res = await deleteDevice(d.deviceId, passwordAuth(alice.userId, PASSWORD));
    expect(res.status).toBe(200);
    expect(await deviceExists(alice.userId, d.deviceId)).toBe(false);
  });

  test('registration: dummy completes the stage; a failure after it keeps the session for the retry', async () => {
    const first = await t.http.post(`${V3}/register`).send({ username: 'retrier', password: '' });
    expect(first.status).toBe(401);
    const session = first.body.session as string;
    const weak = await t.http.post(`${V3}/register`).send({ username: 'retrier', password: '', auth: { type: 'm.login.dummy', session } });
    expect([weak.status, weak.body.errcode]).toEqual([400, 'M_WEAK_PASSWORD']);
    const [row] = await t.hs.sql`SELECT completed FROM uia_sessions WHERE session_id = ${session}`;
    expect(row.completed).toEqual(['m.login.dummy']);
    const ok = await t.http.post(`${V3}/register`).send({ username: 'retrier', password: PASSWORD, auth: { session } });
    expect(ok.status).toBe(200);
    expect(ok.body.user_id).toBe('@retrier:test.local');
    expect(await whoamiStatus(t, ok.body.access_token)).toBe(200);
  });

  test('a token-less request to a UIA endpoint is still M_MISSING_TOKEN first', async () => {
    const res = await t.http.delete(`${V3}/devices/ANY`).send({});
    expect([res.status, res.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    const bad = await t.http.post(`${V3}/account/password`).set(bearer('sct_nope')).send({ new_password: 'x' });
    expect([bad.status, bad.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
  });
});
