import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { login, passwordAuth } from '../support/accounts.js';
import { V1, V3 } from '../support/rooms.js';
import type { Response } from 'supertest';


// Each server has its own limiters (in memory), so every test starts from full buckets on its own server.
let loginLimited: TestServer;
let registerLimited: TestServer;
let unlimited: TestServer;
let defaultLimits: TestServer;
beforeAll(async () => {
  [loginLimited, registerLimited, unlimited, defaultLimits] = await Promise.all([
    startTestServer({ rateLimits: true, loginRatePerMinute: 3, registerRatePerMinute: 1000 }),
    startTestServer({ rateLimits: true, loginRatePerMinute: 1000, registerRatePerMinute: 3, registerCheckRatePerMinute: 4, registration: 'token' }),
    startTestServer({ rateLimits: false, loginRatePerMinute: 1, registerRatePerMinute: 1, registerCheckRatePerMinute: 1 }),
    startTestServer({ rateLimits: true }),
  ]);
});
afterAll(() => Promise.all([loginLimited, registerLimited, unlimited, defaultLimits].map((t) => t?.close())));

/** A 429 with retry_after_ms and Retry-After; checked against the spec's 429 schema when the operation documents one. */
function expectLimited(res: Response, method?: string, path?: string): void {
  expect([res.status, res.body.errcode]).toEqual([429, 'M_LIMIT_EXCEEDED']);
  if (method !== undefined && path !== undefined) expectValidResponse(method, path, 429, res.body);
  expect(Number.isInteger(res.body.retry_after_ms)).toBe(true);
  expect(res.body.retry_after_ms).toBeGreaterThan(0);
  expect(res.body.retry_after_ms).toBeLessThanOrEqual(60_000);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(retryAfter).toBe(Math.max(1, Math.ceil(res.body.retry_after_ms / 1000)));
}

describe('RATE_LIMITS on', () => {
  test('login attempts over the per-minute limit get 429 M_LIMIT_EXCEEDED, even with the right password', async () => {
    await registerUser(loginLimited, 'alice', PASSWORD);
    for (let i = 0; i < 3; i++) expect((await login(loginLimited, 'alice', `guess ${i}`)).status).toBe(403);
    const limited = await login(loginLimited, 'alice', PASSWORD);
    expectLimited(limited, 'POST', `${V3}/login`);
    // The refused attempt created no session.
    expect(await loginLimited.hs.sql`SELECT 1 FROM devices WHERE user_id = '@alice:test.local'`).toHaveLength(1);
  });

  test('password attempts in user-interactive authentication count against the account’s login limit', async () => {
    const erin = await registerUser(loginLimited, 'erin', PASSWORD);
    const path = `${V3}/devices/${erin.deviceId}`;
    const { session } = (await loginLimited.http.delete(path).set(erin.auth).send({})).body;
    for (let i = 0; i < 3; i++) {
      const res = await loginLimited.http.delete(path).set(erin.auth).send({ auth: passwordAuth(erin.userId, `guess ${i}`, session) });
      expect([res.status, res.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    }
    const limited = await loginLimited.http.delete(path).set(erin.auth).send({ auth: passwordAuth(erin.userId, PASSWORD, session) });
    // M_LIMIT_EXCEEDED is a common error code; the spec lists no 429 schema for this operation.
    expectLimited(limited);
    expect(await loginLimited.hs.sql`SELECT 1 FROM devices WHERE user_id = ${erin.userId}`).toHaveLength(1);
  });

  test('registration attempts over the per-minute limit get 429 M_LIMIT_EXCEEDED; the steps before one count apart', async () => {
    const t = registerLimited;
    const probe = () => t.http.post(`${V3}/register`).send({ username: 'bob', password: PASSWORD });
    const available = () => t.http.get(`${V3}/register/available`).query({ username: 'bob' });
    const validity = () => t.http.get(`${V1}/register/m.login.registration_token/validity`).query({ token: 'x' });
    const attempt = async () => {
      const { session } = (await probe()).body;
      return t.http.post(`${V3}/register`).send({ username: 'bob', password: PASSWORD, auth: { type: 'm.login.registration_token', token: 'guess', session } });
    };
    // Attempts: the token-validity check and every POST /register carrying an auth stage (3 a minute here).
    expect((await validity()).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await attempt()).status).toBe(401);
    expectLimited(await attempt(), 'POST', `${V3}/register`);
    expectLimited(await validity(), 'GET', `${V1}/register/m.login.registration_token/validity`);
    const guest = await t.http.post(`${V3}/register?kind=guest`).send({});
    expect([guest.status, guest.body.errcode]).toEqual([429, 'M_LIMIT_EXCEEDED']);
    // Steps before an attempt (4 a minute here; 3 were taken by the attempts' challenges): one more, then 429.
    expect((await available()).status).toBe(200);
    expectLimited(await available(), 'GET', `${V3}/register/available`);
    expectLimited(await probe(), 'POST', `${V3}/register`);
    expect(await t.hs.sql`SELECT 1 FROM users`).toHaveLength(0);
  });

  test('Element registering two accounts from one address passes under the default limits', async () => {
    // What Element Web 1.12 sends per account: the flows (twice: the form, then the auth component), the name
    // checked as it is typed, then m.login.dummy. Each used to count as a registration: 6 of the 10 a minute.
    const t = defaultLimits;
    for (const name of ['anna', 'ben']) {
      const probe = await t.http.post(`${V3}/register`).send({});
      expect(probe.status).toBe(401);
      for (let i = 1; i <= name.length; i++) {
        expect((await t.http.get(`${V3}/register/available`).query({ username: name.slice(0, i) })).status).toBe(200);
      }
      const body = { username: name, password: PASSWORD, initial_device_display_name: 'Element Web' };
      const challenge = await t.http.post(`${V3}/register`).send(body);
      expect(challenge.status).toBe(401);
      expectValidResponse('POST', `${V3}/register`, 401, challenge.body);
      const done = await t.http.post(`${V3}/register`).send({ ...body, auth: { type: 'm.login.dummy', session: challenge.body.session } });
      expect(done.status).toBe(200);
      expectValidResponse('POST', `${V3}/register`, 200, done.body);
      expect(done.body.user_id).toBe(`@${name}:test.local`);
    }
  });
});

describe('RATE_LIMITS off', () => {
  test('no limit applies, whatever the per-minute settings', async () => {
    const u = await registerUser(unlimited, 'carol', PASSWORD);
    for (let i = 0; i < 4; i++) expect((await login(unlimited, 'carol', `guess ${i}`)).status).toBe(403);
    expect((await login(unlimited, 'carol', PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await unlimited.http.get(`${V3}/register/available`).query({ username: `free${i}` })).status).toBe(200);
    }
    expect((await registerUser(unlimited, 'dave', PASSWORD)).userId).toBe('@dave:test.local');
    expect(u.userId).toBe('@carol:test.local');
  });
});
