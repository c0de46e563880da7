import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer } from '../support/server.js';
import { expectMatrixError, expectValidResponse, officialSpecFound, specOperations } from '../support/spec.js';
import { allRoutes } from '../../src/api/index.js';

/** Spec version strings as comparable numbers: 'v1.10' -> [1, 10]. */
const versionKey = (v: string) => v.replace(/^v/, '').split('.').map(Number);
const atMost = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);

/** Endpoints an advertised version added that clients never call here, and why. */
const NOT_NEEDED: Record<string, string> = {
  redirectToSSO: '/login offers no m.login.sso flow',
  redirectToIdP: '/login offers no m.login.sso flow',
  // v1.7: "the server is not required to implement this endpoint"; m.get_login_token is false (tested below).
  generateLoginToken: 'optional endpoint, not offered: 404 M_UNRECOGNIZED, capability m.get_login_token false',
  pingAppservice: 'takes an appservice token; this server has no appservices',
};

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ publicBaseUrl: 'https://matrix.example.org' });
});
afterAll(() => t.close());

describe('discovery', () => {
  test('well-known advertises the public base URL', async () => {
    const res = await t.http.get('/.well-known/matrix/client');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ 'm.homeserver': { base_url: 'https://matrix.example.org' } });
    expectValidResponse('GET', '/.well-known/matrix/client', res.status, res.body);
  });

  test('versions lists spec versions and forces encryption for every preset', async () => {
    const res = await t.http.get('/_matrix/client/versions');
    expect(res.status).toBe(200);
    expect(res.body.versions).toContain('v1.1');
    expectValidResponse('GET', '/_matrix/client/versions', res.status, res.body);
    expect(res.body.unstable_features).toMatchObject({
      'io.element.e2ee_forced.public': true,
      'io.element.e2ee_forced.private': true,
      'io.element.e2ee_forced.trusted_private': true,
    });
  });

  test('versions: v1.1 to v1.11 (matrix-js-sdk 43 needs v1.5), cross-signing and MSC3916 advertised', async () => {
    const res = await t.http.get('/_matrix/client/versions');
    expect(res.body.versions).toEqual(['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11']);
    expect(res.body.unstable_features['org.matrix.e2e_cross_signing']).toBe(true);
    // Authenticated media (v1.11's endpoints) is served; clients learn it from MSC3916's stable flag.
    expect(res.body.unstable_features['org.matrix.msc3916.stable']).toBe(true);
  });

  // The versions' endpoints come from the official spec (x-addedInMatrixVersion): skipped without it, as on a plain clone.
  (officialSpecFound() ? test : test.skip)('every client endpoint added by an advertised version is routed', async () => {
    const versions: string[] = (await t.http.get('/_matrix/client/versions')).body.versions;
    const highest = versions.map(versionKey).reduce((a, b) => (atMost(a, b) ? b : a));
    const routed = new Set(allRoutes.map((r) => r.operationId));
    const needed = specOperations().filter((o) => o.addedIn !== undefined && atMost(versionKey(o.addedIn), highest));
    expect(needed.length).toBeGreaterThan(10);
    const missing = needed.filter((o) => !routed.has(String(o.operationId)) && !(String(o.operationId) in NOT_NEEDED));
    expect(missing.map((o) => `v${o.addedIn} ${o.method} ${o.fullPath} (${o.operationId})`)).toEqual([]);
    // Nothing after v1.11 is claimed (not checked against what later versions need).
    expect(highest).toEqual([1, 11]);
  });

  test('v1.7 get_token is not offered, as the spec allows: 404 M_UNRECOGNIZED, capability false, no m.login.token flow', async () => {
    const u = await registerUser(t);
    const res = await t.http.post('/_matrix/client/v1/login/get_token').set(u.auth).send({});
    expect([res.status, res.body.errcode]).toEqual([404, 'M_UNRECOGNIZED']);
    const caps = await t.http.get('/_matrix/client/v3/capabilities').set(u.auth);
    expect(caps.body.capabilities['m.get_login_token']).toEqual({ enabled: false });
    const flows = (await t.http.get('/_matrix/client/v3/login')).body.flows as { type: string; get_login_token?: boolean }[];
    expect(flows.some((f) => f.type === 'm.login.token' || f.get_login_token === true)).toBe(false);
  });

  test('/.well-known/matrix/support: 404 with nothing configured', async () => {
    const res = await t.http.get('/.well-known/matrix/support');
    expect([res.status, res.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expectValidResponse('GET', '/.well-known/matrix/support', res.status, res.body);
  });

  test('/.well-known/matrix/support: the configured contacts and page', async () => {
    const s = await startTestServer({ supportContactEmail: 'admin@example.org', supportContactMxid: '@admin:example.net', supportPage: 'https://example.org/help' });
    try {
      const res = await s.http.get('/.well-known/matrix/support');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        contacts: [{ role: 'm.role.admin', matrix_id: '@admin:example.net', email_address: 'admin@example.org' }],
        support_page: 'https://example.org/help',
      });
      expectValidResponse('GET', '/.well-known/matrix/support', res.status, res.body);
    } finally {
      await s.close();
    }
    const pageOnly = await startTestServer({ supportPage: 'https://example.org/help' });
    try {
      const res = await pageOnly.http.get('/.well-known/matrix/support');
      expect(res.body).toEqual({ support_page: 'https://example.org/help' });
      expectValidResponse('GET', '/.well-known/matrix/support', res.status, res.body);
    } finally {
      await pageOnly.close();
    }
  });

  test('capabilities need a token and list room versions', async () => {
    expect((await t.http.get('/_matrix/client/v3/capabilities')).body.errcode).toBe('M_MISSING_TOKEN');
    const anonymous = await t.http.get('/_matrix/client/v3/capabilities');
    expectMatrixError(anonymous.body, 'M_MISSING_TOKEN');
    const u = await registerUser(t);
    const res = await t.http.get('/_matrix/client/v3/capabilities').set(u.auth);
    expect(res.status).toBe(200);
    expect(res.body.capabilities['m.room_versions'].available['10']).toBe('stable');
    expect(res.body.capabilities['m.change_password']).toEqual({ enabled: true });
    expectValidResponse('GET', '/_matrix/client/v3/capabilities', res.status, res.body);
  });

  test('unknown endpoint: 404 M_UNRECOGNIZED; wrong method: 405 M_UNRECOGNIZED', async () => {
    const a = await t.http.get('/_matrix/client/v3/nothing-here');
    expect([a.status, a.body.errcode]).toEqual([404, 'M_UNRECOGNIZED']);
    const b = await t.http.delete('/_matrix/client/versions');
    expect([b.status, b.body.errcode]).toEqual([405, 'M_UNRECOGNIZED']);
  });

  test('CORS headers on every response and OPTIONS preflight', async () => {
    const res = await t.http.options('/_matrix/client/v3/login');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-headers']).toContain('Authorization');
    const err = await t.http.get('/nowhere');
    expect(err.headers['access-control-allow-origin']).toBe('*');
  });
});
