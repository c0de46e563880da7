/** Logs carry a request id and one line per request, and never a password, token, body or client address. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pino from 'pino';
import { Writable } from 'node:stream';
import { registerUser, startTestServer, type TestServer } from '../support/server.js';

const lines: string[] = [];
let t: TestServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  t = await startTestServer({ logRequests: true }, pino({ level: 'debug' }, sink));
});
afterAll(() => t.close());

test('request lines name the route pattern and carry a request id; secrets never appear', async () => {
  const password = 'a very secret password 93815';
  const user = await registerUser(t, 'logcheck', password);
  const login = await t.http
    .post('/_matrix/client/v3/login')
    .set('X-Request-Id', 'req-login-1')
    .send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'logcheck' }, password, refresh_token: true });
  expect(login.status).toBe(200);
  expect(login.headers['x-request-id']).toBe('req-login-1');
  await t.http.put(`/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/account_data/org.example.secretive`).set(user.auth).send({ hidden: 'body-content-77' });
  // Tokens in the query string (older clients, matrix-nio 0.20, on r0 paths too): accepted, never logged, also when refused.
  const byQuery = await t.http.get('/_matrix/client/v3/account/whoami').query({ access_token: user.accessToken }).set('X-Request-Id', 'req-query-token');
  expect(byQuery.status).toBe(200);
  expect((await t.http.get('/_matrix/client/r0/sync').query({ access_token: user.accessToken, timeout: '0' })).status).toBe(200);
  expect((await t.http.get('/_matrix/client/r0/account/whoami').query({ access_token: user.accessToken }).set(user.auth)).status).toBe(401);
  expect((await t.http.get('/_matrix/client/r0/account/whoami').query({ access_token: 'sct_unknown_query_token_5521' })).status).toBe(401);

  const all = lines.join('\n');
  for (const secret of [password, user.accessToken, login.body.access_token, login.body.refresh_token, 'body-content-77', '127.0.0.1', 'sct_unknown_query_token_5521', 'access_token']) {
    expect(all).not.toContain(secret);
  }
  const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
  const loginLine = requestLines.find((l) => l.req === 'req-login-1');
  expect(loginLine).toMatchObject({ method: 'POST', route: 'POST /_matrix/client/v3/login', status: 200 });
  expect(requestLines.find((l) => l.req === 'req-query-token')).toMatchObject({ route: 'GET /_matrix/client/v3/account/whoami', status: 200 });
  expect(requestLines.map((l) => l.route)).toEqual(expect.arrayContaining(['GET /_matrix/client/r0/sync', 'GET /_matrix/client/r0/account/whoami']));
  // Routes are logged as patterns, so user ids in paths do not reach the log either.
  expect(all).not.toContain(encodeURIComponent(user.userId));
});
