import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashToken } from '../../src/lib/tokens.js';
import { PASSWORD, registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { bearer, dbCounts, login } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

const MAX_BODY = 2048;

let t: TestServer;
/** A second server whose database loses a table under it, for a real unexpected failure inside the real app. */
let broken: TestServer;
let alice: TestUser;
beforeAll(async () => {
  [t, broken] = await Promise.all([startTestServer({ maxBodyBytes: MAX_BODY }), startTestServer()]);
  alice = await registerUser(t, 'alice', PASSWORD);
});
afterAll(() => Promise.all([t, broken].map((s) => s?.close())));

function rawPost(path: string, text: string, headers: Record<string, string> = {}) {
  return t.http.post(path).set({ 'Content-Type': 'application/json', ...headers }).send(text);
}

/** Every error is a JSON object with a string errcode and error, served as application/json (no charset). */
function expectMatrixError(res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }, status: number, errcodes: string[]) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  expect(errcodes).toContain(res.body.errcode);
  expect(typeof res.body.error).toBe('string');
}

describe('request bodies', () => {
  test('invalid JSON is 400 M_NOT_JSON, with or without a token, and writes nothing', async () => {
    const before = await dbCounts(t);
    expectMatrixError(await rawPost(`${V3}/login`, '{"type": "m.login.password",'), 400, ['M_NOT_JSON']);
    expectMatrixError(await rawPost(`${V3}/register`, "{'single': 'quotes'}"), 400, ['M_NOT_JSON']);
    const authed = await t.http.put(`${V3}/devices/${alice.deviceId}`).set(alice.auth).set('Content-Type', 'application/json').send('{display_name:');
    expectMatrixError(authed, 400, ['M_NOT_JSON']);
    expect(await dbCounts(t)).toEqual(before);
  });

  test.each([
    ['an array', '[{"type": "m.login.password"}]'],
    ['a string', '"m.login.password"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('a JSON body that is %s is refused with M_NOT_JSON or M_BAD_JSON', async (_what, text) => {
    expectMatrixError(await rawPost(`${V3}/login`, text), 400, ['M_NOT_JSON', 'M_BAD_JSON']);
    expectMatrixError(await rawPost(`${V3}/register`, text), 400, ['M_NOT_JSON', 'M_BAD_JSON']);
  });

  test('JSON bodies are read whatever the Content-Type (the spec does not require one)', async () => {
    const res = await t.http
      .post(`${V3}/login`)
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: PASSWORD }));
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(alice.userId);
  });

  test('fields of the wrong type are 400 M_BAD_JSON; absent required fields are 400 M_MISSING_PARAM', async () => {
    const before = await dbCounts(t);
    expectMatrixError(await t.http.post(`${V3}/login`).send({ type: 7 }), 400, ['M_BAD_JSON']);
    expectMatrixError(await t.http.post(`${V3}/login`).send({ type: 'm.login.password', user: 'alice', password: ['x'] }), 400, ['M_BAD_JSON']);
    expectMatrixError(await t.http.post(`${V3}/refresh`).send({ refresh_token: { token: 'x' } }), 400, ['M_BAD_JSON']);
    expectMatrixError(await t.http.put(`${V3}/devices/${alice.deviceId}`).set(alice.auth).send({ display_name: false }), 400, ['M_BAD_JSON']);
    expectMatrixError(await t.http.post(`${V3}/delete_devices`).set(alice.auth).send({ devices: 'all' }), 400, ['M_BAD_JSON']);
    expectMatrixError(await t.http.post(`${V3}/login`).send({}), 400, ['M_MISSING_PARAM']);
    expectMatrixError(await t.http.post(`${V3}/refresh`).send({}), 400, ['M_MISSING_PARAM']);
    expectMatrixError(await t.http.post(`${V3}/account/password`).set(alice.auth).send({}), 400, ['M_MISSING_PARAM']);
    expectMatrixError(await t.http.get(`${V3}/register/available`), 400, ['M_MISSING_PARAM']);
    // An empty body counts as {}: required fields are then missing.
    expectMatrixError(await t.http.post(`${V3}/refresh`), 400, ['M_MISSING_PARAM']);
    expect(await dbCounts(t)).toEqual(before);
  });

  test(`a body over maxBodyBytes (${MAX_BODY}) is 413 M_TOO_LARGE`, async () => {
    const before = await dbCounts(t);
    const big = JSON.stringify({ type: 'm.login.password', user: 'alice', password: PASSWORD, padding: 'x'.repeat(MAX_BODY) });
    expectMatrixError(await rawPost(`${V3}/login`, big), 413, ['M_TOO_LARGE']);
    const bigName = { display_name: 'y'.repeat(MAX_BODY) };
    expectMatrixError(await t.http.put(`${V3}/devices/${alice.deviceId}`).set(alice.auth).send(bigName), 413, ['M_TOO_LARGE']);
    // Just under the limit is read normally.
    const fits = JSON.stringify({ type: 'm.login.password', user: 'alice', password: PASSWORD, padding: 'x'.repeat(MAX_BODY - 200) });
    expect(Buffer.byteLength(fits)).toBeLessThan(MAX_BODY);
    expect((await rawPost(`${V3}/login`, fits)).status).toBe(200);
    expect((await dbCounts(t)).users).toBe(before.users);
  });

  test('a chunked body (no Content-Length) over the limit is 413 M_TOO_LARGE too', async () => {
    const { port } = t.server.address() as AddressInfo;
    const res = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `${V3}/login`, headers: { 'Content-Type': 'application/json' } }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      // Written in pieces without a Content-Length, so Node sends Transfer-Encoding: chunked.
      req.write('{"type": "m.login.password", "padding": "');
      for (let i = 0; i < 4; i++) req.write('z'.repeat(MAX_BODY / 2));
      req.end('"}');
    });
    expect([res.status, res.body.errcode]).toEqual([413, 'M_TOO_LARGE']);
  });
});

describe('Content-Type of responses', () => {
  // Koa's default for an object body is "application/json; charset=utf-8"; the edge sets it bare, as other
  // homeservers send it (api/edge.ts jsonContentTypeMiddleware).
  test('JSON answers and every kind of error are exactly application/json', async () => {
    const answers = [
      await t.http.get('/_matrix/client/versions'),
      await t.http.get('/.well-known/matrix/client'),
      await t.http.get(`${V3}/account/whoami`).set(alice.auth),
      await t.http.get('/_matrix/client/r0/account/whoami').set(alice.auth),
      await t.http.post(`${V3}/register`).send({}), // 401 with the registration flows
      await rawPost(`${V3}/login`, '{nope'), // 400 from the body reader
      await t.http.get(`${V3}/account/whoami`), // 401 from authentication
      await t.http.get('/_matrix/client/v3/no/such/endpoint'), // 404 before routing
      await t.http.delete(`${V3}/account/whoami`), // 405
      await rawPost(`${V3}/login`, JSON.stringify({ padding: 'z'.repeat(MAX_BODY) })), // 413
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 401, 400, 401, 404, 405, 413]);
    for (const res of answers) expect(res.headers['content-type']).toBe('application/json');
  });

  test('an OPTIONS preflight has no body and no Content-Type', async () => {
    const res = await t.http.options(`${V3}/account/whoami`);
    expect(res.status).toBe(204);
    expect(res.headers['content-type']).toBeUndefined();
  });
});

describe('access tokens', () => {
  test('a missing token is 401 M_MISSING_TOKEN', async () => {
    expectMatrixError(await t.http.get(`${V3}/account/whoami`), 401, ['M_MISSING_TOKEN']);
    expectMatrixError(await t.http.get(`${V3}/devices`), 401, ['M_MISSING_TOKEN']);
    expectMatrixError(await t.http.post(`${V3}/logout`).send({}), 401, ['M_MISSING_TOKEN']);
  });

  test('an unknown token is 401 M_UNKNOWN_TOKEN with soft_logout false', async () => {
    const res = await t.http.get(`${V3}/devices`).set(bearer('sct_this-token-was-never-issued'));
    expectMatrixError(res, 401, ['M_UNKNOWN_TOKEN']);
    expect(res.body.soft_logout).toBe(false);
  });

  test('an expired refreshable token is 401 M_UNKNOWN_TOKEN with soft_logout true', async () => {
    const res = await login(t, 'alice', PASSWORD, { refresh_token: true });
    // Lifetimes are at least 10 s, so the expiry is moved into the past in the database instead of waiting.
    await t.hs.sql`UPDATE access_tokens SET expires_ts = ${Date.now() - 1} WHERE token_hash = ${hashToken(res.body.access_token)}`;
    const expired = await t.http.get(`${V3}/devices`).set(bearer(res.body.access_token));
    expectMatrixError(expired, 401, ['M_UNKNOWN_TOKEN']);
    expect(expired.body.soft_logout).toBe(true);
  });
});

describe('unexpected errors', () => {
  test('a 500 is M_UNKNOWN and shows nothing of the cause', async () => {
    const u = await registerUser(broken, 'victim', PASSWORD);
    await broken.hs.sql`ALTER TABLE users RENAME TO users_gone`;
    for (const res of [await login(broken, 'victim', PASSWORD), await broken.http.get(`${V3}/account/whoami`).set(u.auth)]) {
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.body).toEqual({ errcode: 'M_UNKNOWN', error: 'Internal server error.' });
      expect(res.text).not.toMatch(/users|relation|postgres|stack|\.ts|at /i);
    }
  });
});
