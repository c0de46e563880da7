/**
 * Test servers: buildApp on a fresh database (supertest drives app.callback()), and small helpers that keep
 * tests short: register a user, authorised requests.
 */
import type { Server } from 'node:http';
import request from 'supertest';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createHs, type Hs } from '../../src/hs.js';
import { createLogger } from '../../src/hs.js';
import type { Logger } from 'pino';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestServer {
  hs: Hs;
  /** A supertest agent bound to the app's HTTP server. */
  http: ReturnType<typeof request>;
  server: Server;
  database: TestDatabase;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig({ SERVER_NAME: 'test.local', RATE_LIMITS: 'off', LOG_LEVEL: 'silent' }, overrides);
}

/** `log` replaces the (silent) logger, e.g. to capture log lines. */
export async function startTestServer(overrides: Partial<Config> = {}, log?: Logger): Promise<TestServer> {
  const database = await createTestDatabase();
  const config = testConfig(overrides);
  const hs = await createHs(config, database.db, log ?? createLogger(config));
  const server = buildApp(hs).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    hs,
    http: request(server),
    server,
    database,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await hs.notifier.close();
      await closed;
      await database.drop();
    },
  };
}

export interface TestUser {
  userId: string;
  deviceId: string;
  accessToken: string;
  password: string;
  auth: { Authorization: string };
}

let counter = 0;

/** Registers a user through the real UIA flow (dummy stage). */
export async function registerUser(t: TestServer, localpart = `user${++counter}_${Date.now() % 100000}`, password = 'correct horse battery staple'): Promise<TestUser> {
  const first = await t.http.post('/_matrix/client/v3/register').send({ username: localpart, password });
  if (first.status !== 401) throw new Error(`register challenge: ${first.status} ${JSON.stringify(first.body)}`);
  const res = await t.http
    .post('/_matrix/client/v3/register')
    .send({ username: localpart, password, auth: { type: 'm.login.dummy', session: first.body.session } });
  if (res.status !== 200) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    userId: res.body.user_id,
    deviceId: res.body.device_id,
    accessToken: res.body.access_token,
    password,
    auth: { Authorization: `Bearer ${res.body.access_token}` },
  };
}
