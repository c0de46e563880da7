/**
 * OpenID tokens: issued only to oneself, short-lived, stored hashed, and good for the userinfo lookup alone; an
 * access token is not an OpenID token and an OpenID token is not an access token.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { bearer, passwordAuth } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

const USERINFO = '/_matrix/federation/v1/openid/userinfo';
const requestPath = (userId: string) => `${V3}/user/${encodeURIComponent(userId)}/openid/request_token`;

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  [alice, bob] = [await registerUser(t), await registerUser(t)];
});
afterAll(() => t.close());

async function issue(u: TestUser): Promise<string> {
  const res = await t.http.post(requestPath(u.userId)).set(u.auth).send({});
  expect(res.status).toBe(200);
  return res.body.access_token;
}
const userinfo = (token: string) => t.http.get(USERINFO).query({ access_token: token });

describe('POST /user/{userId}/openid/request_token', () => {
  test('a Bearer token for oneself, an hour long, stored only as its SHA-256 hash', async () => {
    const res = await t.http.post(requestPath(alice.userId)).set(alice.auth).send({});
    expect(res.status).toBe(200);
    expectValidResponseById('requestOpenIdToken', 200, res.body);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', matrix_server_name: 'test.local', expires_in: 3600 });
    expect(res.body.access_token.length).toBeGreaterThan(40);
    const token: string = res.body.access_token;
    const rows = await t.hs.sql<{ tokenHash: Buffer; userId: string; expiresTs: number }[]>`SELECT * FROM openid_tokens WHERE user_id = ${alice.userId}`;
    expect(rows.map((r) => r.tokenHash.toString('hex'))).toContain(createHash('sha256').update(token).digest('hex'));
    const row = rows.find((r) => r.tokenHash.equals(createHash('sha256').update(token).digest()))!;
    expect(Math.abs(row.expiresTs - (Date.now() + 3600_000))).toBeLessThan(60_000);
  });

  test("someone else's: 403 M_FORBIDDEN and nothing stored; no token: 401; guests: 403; a body that is not an object: 400", async () => {
    const before = await t.hs.sql`SELECT count(*)::int AS n FROM openid_tokens`;
    const other = await t.http.post(requestPath(bob.userId)).set(alice.auth).send({});
    expect([other.status, other.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await t.hs.sql`SELECT count(*)::int AS n FROM openid_tokens`).toEqual(before);
    expectMatrixError((await t.http.post(requestPath(alice.userId)).send({})).body, 'M_MISSING_TOKEN');
    const guest = await t.http.post(`${V3}/register?kind=guest`).send({});
    expect(guest.status).toBe(200);
    const asGuest = await t.http.post(requestPath(guest.body.user_id)).set(bearer(guest.body.access_token)).send({});
    expect([asGuest.status, asGuest.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    const notObject = await t.http.post(requestPath(alice.userId)).set(alice.auth).set('Content-Type', 'application/json').send('[1]');
    expect(notObject.status).toBe(400);
    expectMatrixError(notObject.body);
  });
});

describe('GET /_matrix/federation/v1/openid/userinfo', () => {
  test('names the user who asked for the token, and only that', async () => {
    const [a, b] = [await issue(alice), await issue(bob)];
    const res = await userinfo(a);
    expect([res.status, res.body]).toEqual([200, { sub: alice.userId }]);
    expect((await userinfo(b)).body).toEqual({ sub: bob.userId });
    expect((await userinfo(a)).body).toEqual({ sub: alice.userId }); // usable more than once while it lives
  });

  test('unknown, missing or hostile tokens: 401 M_UNKNOWN_TOKEN or 400, never a 500', async () => {
    for (const token of ['nope', 'sco_' + 'A'.repeat(43), '%00', 'x'.repeat(1000), '😀']) {
      const res = await userinfo(token);
      expect([res.status, res.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    }
    // A NUL or an overlong URL never reaches the route: the input gate refuses it.
    expect([(await userinfo('\u0000')).status, (await userinfo('\u0000')).body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect([(await userinfo('x'.repeat(10_000))).status, (await userinfo('x'.repeat(10_000))).body.errcode]).toEqual([414, 'M_TOO_LARGE']);
    const missing = await t.http.get(USERINFO);
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const twice = await t.http.get(`${USERINFO}?access_token=a&access_token=b`);
    expect(twice.status).toBe(400);
    expectMatrixError(twice.body);
  });

  test('an expired token is refused, and expired rows are gone once another token is issued', async () => {
    const token = await issue(alice);
    const hash = createHash('sha256').update(token).digest();
    await t.hs.sql`UPDATE openid_tokens SET expires_ts = ${Date.now() - 1} WHERE token_hash = ${hash}`;
    const res = await userinfo(token);
    expect([res.status, res.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    await issue(bob);
    expect(await t.hs.sql`SELECT 1 FROM openid_tokens WHERE token_hash = ${hash}`).toHaveLength(0);
    expect(await t.hs.sql`SELECT 1 FROM openid_tokens WHERE expires_ts <= ${Date.now()}`).toHaveLength(0);
  });

  test('an OpenID token is not an access token, and an access token is not an OpenID token', async () => {
    const token = await issue(alice);
    for (const path of [`${V3}/account/whoami`, `${V3}/sync?timeout=0`, `${V3}/devices`]) {
      const res = await t.http.get(path).set(bearer(token));
      expect([path, res.status, res.body.errcode]).toEqual([path, 401, 'M_UNKNOWN_TOKEN']);
    }
    const withAccess = await userinfo(alice.accessToken);
    expect([withAccess.status, withAccess.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    // an Authorization header is not how userinfo is asked, and does not make it answer
    const header = await t.http.get(USERINFO).set(alice.auth);
    expect(header.status).toBe(400);
  });

  test('a deactivated account: its tokens name no one any more', async () => {
    const carol = await registerUser(t);
    const token = await issue(carol);
    expect((await userinfo(token)).body).toEqual({ sub: carol.userId });
    const first = await t.http.post(`${V3}/account/deactivate`).set(carol.auth).send({});
    const done = await t.http.post(`${V3}/account/deactivate`).set(carol.auth).send({ auth: passwordAuth(carol.userId, carol.password, first.body.session) });
    expect(done.status).toBe(200);
    const res = await userinfo(token);
    expect([res.status, res.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
  });
});
