/**
 * The small endpoints Element calls at start-up and in its settings: third-party identifiers (none kept: an empty
 * list, refusals with the spec's errcodes), third-party networks (none: `{}` and 404s), and whois (admins and the
 * user themself; devices with last-seen times, never an address).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let admin: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  [alice, bob, admin] = [await registerUser(t), await registerUser(t), await registerUser(t)];
  await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${admin.userId}`;
});
afterAll(() => t.close());

const email = { client_secret: 'd0nt-T3ll', email: 'alice@example.org', send_attempt: 1 };
const phone = { client_secret: 'd0nt-T3ll', country: 'GB', phone_number: '07700900001', send_attempt: 1 };

describe('third-party identifiers', () => {
  test('GET /account/3pid: an empty list, with a token only', async () => {
    const res = await t.http.get(`${V3}/account/3pid`).set(alice.auth);
    expect([res.status, res.body]).toEqual([200, { threepids: [] }]);
    expectValidResponseById('getAccount3PIDs', 200, res.body);
    expectMatrixError((await t.http.get(`${V3}/account/3pid`)).body, 'M_MISSING_TOKEN');
  });

  test('adding and binding: 403 M_THREEPID_DENIED; a malformed body is still a 400', async () => {
    for (const [path, body] of [
      ['/account/3pid/add', { client_secret: 's', sid: 'x' }],
      ['/account/3pid/bind', { client_secret: 's', sid: 'x', id_server: 'id.example.org', id_access_token: 't' }],
      ['/account/3pid', { three_pid_creds: { client_secret: 's', sid: 'x' } }],
    ] as const) {
      const res = await t.http.post(`${V3}${path}`).set(alice.auth).send(body);
      expect([path, res.status, res.body.errcode]).toEqual([path, 403, 'M_THREEPID_DENIED']);
      expect(res.body.error).toMatch(/not supported on this server/);
      const bad = await t.http.post(`${V3}${path}`).set(alice.auth).send({ sid: 42 });
      expect([path, bad.status]).toEqual([path, 400]);
      expectMatrixError(bad.body);
      expect((await t.http.post(`${V3}${path}`).send(body)).status).toBe(401);
    }
  });

  test('deleting and unbinding: nothing to remove, 200 no-support', async () => {
    for (const op of ['delete', 'unbind']) {
      const res = await t.http.post(`${V3}/account/3pid/${op}`).set(alice.auth).send({ medium: 'email', address: 'alice@example.org' });
      expect([res.status, res.body]).toEqual([200, { id_server_unbind_result: 'no-support' }]);
      expectValidResponseById(op === 'delete' ? 'delete3pidFromAccount' : 'unbind3pidFromAccount', 200, res.body);
      const bad = await t.http.post(`${V3}/account/3pid/${op}`).set(alice.auth).send({ medium: 'carrier-pigeon', address: 'x' });
      expect(bad.status).toBe(400);
      expectMatrixError(bad.body, 'M_BAD_JSON');
    }
  });

  test('validation tokens are never sent: the account ones M_THREEPID_MEDIUM_NOT_SUPPORTED, the others M_THREEPID_DENIED', async () => {
    const cases = [
      ['/account/3pid/email/requestToken', email, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
      ['/account/3pid/msisdn/requestToken', phone, 400, 'M_THREEPID_MEDIUM_NOT_SUPPORTED'],
      ['/register/email/requestToken', email, 403, 'M_THREEPID_DENIED'],
      ['/register/msisdn/requestToken', phone, 403, 'M_THREEPID_DENIED'],
      ['/account/password/email/requestToken', email, 403, 'M_THREEPID_DENIED'],
      ['/account/password/msisdn/requestToken', phone, 403, 'M_THREEPID_DENIED'],
    ] as const;
    for (const [path, body, status, errcode] of cases) {
      const res = await t.http.post(`${V3}${path}`).send(body);
      expect([path, res.status, res.body.errcode]).toEqual([path, status, errcode]);
      const missing = await t.http.post(`${V3}${path}`).send({ client_secret: 's' });
      expect([path, missing.status, missing.body.errcode]).toEqual([path, 400, 'M_MISSING_PARAM']);
      const garbage = await t.http.post(`${V3}${path}`).set('Content-Type', 'application/json').send('{"email": "\u0000');
      expect([path, garbage.status, garbage.body.errcode]).toEqual([path, 400, 'M_NOT_JSON']);
    }
  });
});

describe('third-party networks', () => {
  test('no protocols: {} and 404 M_NOT_FOUND for every lookup', async () => {
    const res = await t.http.get(`${V3}/thirdparty/protocols`).set(alice.auth);
    expect([res.status, res.body]).toEqual([200, {}]);
    for (const path of ['/thirdparty/protocol/irc', '/thirdparty/location/irc?searchFields=x', '/thirdparty/user/gitter', '/thirdparty/location?alias=%23a:b', '/thirdparty/user?userid=@a:b', '/thirdparty/protocol/%F0%9F%90%88']) {
      const r = await t.http.get(`${V3}${path}`).set(alice.auth);
      expect([path, r.status, r.body.errcode]).toEqual([path, 404, 'M_NOT_FOUND']);
    }
    const noAlias = await t.http.get(`${V3}/thirdparty/location`).set(alice.auth);
    expect([noAlias.status, noAlias.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    expect((await t.http.get(`${V3}/thirdparty/protocols`)).status).toBe(401);
  });
});

describe('whois', () => {
  test('the user themself: every device, one session each, a last-seen time and no address', async () => {
    const second = await t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: alice.password });
    expect(second.status).toBe(200);
    const res = await t.http.get(`${V3}/admin/whois/${encodeURIComponent(alice.userId)}`).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getWhoIs', 200, res.body);
    expect(res.body.user_id).toBe(alice.userId);
    expect(Object.keys(res.body.devices).sort()).toEqual([alice.deviceId, second.body.device_id].sort());
    const mine = res.body.devices[alice.deviceId];
    expect(mine.sessions).toHaveLength(1);
    for (const c of mine.sessions[0].connections) {
      expect(Object.keys(c)).toEqual(['last_seen']);
      expect(c.last_seen).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(JSON.stringify(res.body)).not.toMatch(/"ip"|user_agent|127\.0\.0\.1/);
  });

  test('an admin sees anyone; others get 403 before any lookup (no account enumeration)', async () => {
    const asAdmin = await t.http.get(`${V3}/admin/whois/${encodeURIComponent(bob.userId)}`).set(admin.auth);
    expect(asAdmin.status).toBe(200);
    expect(Object.keys(asAdmin.body.devices)).toEqual([bob.deviceId]);
    const nobody = await t.http.get(`${V3}/admin/whois/${encodeURIComponent('@nobody:test.local')}`).set(admin.auth);
    expect([nobody.status, nobody.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    for (const target of [bob.userId, '@nobody:test.local']) {
      const res = await t.http.get(`${V3}/admin/whois/${encodeURIComponent(target)}`).set(alice.auth);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    }
    expect((await t.http.get(`${V3}/admin/whois/${encodeURIComponent(bob.userId)}`)).status).toBe(401);
  });

  test('hostile user ids: never a 500', async () => {
    for (const id of ['%F0%9F%90%88', '@nobody:test.local']) {
      const res = await t.http.get(`${V3}/admin/whois/${id}`).set(admin.auth);
      expect([id.slice(0, 20), res.status]).toEqual([id.slice(0, 20), 404]);
      expectMatrixError(res.body, 'M_NOT_FOUND');
    }
    // A NUL or an overlong segment never reaches the route: the input gate refuses it.
    for (const id of ['%00', '@a%00b:test.local', 'x'.repeat(5000)]) {
      const res = await t.http.get(`${V3}/admin/whois/${id}`).set(admin.auth);
      expect([id.slice(0, 20), res.status]).toEqual([id.slice(0, 20), 400]);
      expectMatrixError(res.body, 'M_INVALID_PARAM');
    }
  });
});
