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
  await t.http.get('/_matrix/client/v3/account/whoami').query({ access_token: user.accessToken });

  const all = lines.join('\n');
  for (const secret of [password, user.accessToken, login.body.access_token, login.body.refresh_token, 'body-content-77', '127.0.0.1']) {
    expect(all).not.toContain(secret);
  }
  const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
  const loginLine = requestLines.find((l) => l.req === 'req-login-1');
  expect(loginLine).toMatchObject({ method: 'POST', route: 'POST /_matrix/client/v3/login', status: 200 });
  // Routes are logged as patterns, so user ids in paths do not reach the log either.
  expect(all).not.toContain(encodeURIComponent(user.userId));
});
