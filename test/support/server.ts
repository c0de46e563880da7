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
import { createTestDatabase, TEST_POOL_SIZE, type TestDatabase } from './db.js';
import { connectPostgres, type Database } from '../../src/db/database.js';

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

/** Serves `hs` on a free loopback port; `stop` closes the server and the notifier (not the database). */
async function serve(hs: Hs): Promise<{ server: Server; http: ReturnType<typeof request>; stop(): Promise<void> }> {
  const server = buildApp(hs).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    server,
    http: request(server),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await hs.notifier.close();
      await closed;
    },
  };
}

/**
 * `log` replaces the (silent) logger, e.g. to capture log lines. `poolSize` is for the few tests that need several
 * connections at once by design (a transaction held open while others go on); the rest run on the suite's pool.
 */
export async function startTestServer(overrides: Partial<Config> = {}, log?: Logger, poolSize = TEST_POOL_SIZE): Promise<TestServer> {
  const database = await createTestDatabase(poolSize);
  const config = testConfig(overrides);
  const hs = await createHs(config, database.db, log ?? createLogger(config));
  const { server, http, stop } = await serve(hs);
  return {
    hs,
    http,
    server,
    database,
    async close() {
      await stop();
      await database.drop();
    },
  };
}

/** Another server process's stand-in: its own pool, notifier and caches on a database that `t` also uses. */
export interface SecondServer {
  hs: Hs;
  http: ReturnType<typeof request>;
  server: Server;
  close(): Promise<void>;
}

export async function startSecondServer(databaseUrl: string, overrides: Partial<Config> = {}): Promise<SecondServer> {
  return startServerOn(connectPostgres(databaseUrl, TEST_POOL_SIZE), overrides);
}

/** A server on a database opened by the test (a pool with its own rules, the embedded database); closing it closes `db`. */
export async function startServerOn(db: Database, overrides: Partial<Config> = {}): Promise<SecondServer> {
  const hs = await createHs(testConfig(overrides), db);
  const { server, http, stop } = await serve(hs);
  return {
    hs,
    http,
    server,
    async close() {
      await stop();
      await db.close();
    },
  };
}

/** A user to register: a localpart, or a localpart and a password. */
export type NewUser = string | { localpart: string; password: string };

/**
 * A test file's server and users: a test server with `users` newly registered users (a count, with generated
 * localparts and the default password, or each one's localpart and password), registered one after the other.
 * For beforeAll: `beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(2)));`
 */
export async function startWithUsers(users: number | NewUser[], overrides: Partial<Config> = {}): Promise<[TestServer, TestUser[]]> {
  const t = await startTestServer(overrides);
  const wanted: (NewUser | undefined)[] = typeof users === 'number' ? Array.from({ length: users }, () => undefined) : users;
  const registered: TestUser[] = [];
  for (const u of wanted) registered.push(await (typeof u === 'object' ? registerUser(t, u.localpart, u.password) : registerUser(t, u)));
  return [t, registered];
}

export interface TestUser {
  userId: string;
  deviceId: string;
  accessToken: string;
  password: string;
  auth: { Authorization: string };
}

let counter = 0;

/** The password test users get unless a test gives another. */
export const PASSWORD = 'correct horse battery staple';

/** Registers a user through the real UIA flow (dummy stage). */
export async function registerUser(t: Pick<TestServer, 'http'>, localpart = `user${++counter}_${Date.now() % 100000}`, password = PASSWORD): Promise<TestUser> {
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
