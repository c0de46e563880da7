import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer } from '../support/server.js';
import { expectMatrixError, expectValidResponse } from '../support/spec.js';

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
