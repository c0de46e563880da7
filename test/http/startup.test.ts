/**
 * Start-up and shutdown of the real server process (src/main.ts through the tsx loader): embedded and PostgreSQL
 * modes, --migrate-only, --help, a refused newer schema, the DATA_DIR lock, and SIGTERM with a request in flight.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import postgres from 'postgres';
import { SETTINGS } from '../../src/config.js';
import { knownMigrations } from '../../src/db/migrate.js';
import { createEmptyDatabase } from '../support/db.js';
import { killAll, logLines, spawnServer, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { PASSWORD } from '../support/server.js';

const LISTENING = /SecureComm listening on/;
const EMBEDDED_NOTICE = /embedded database \(PGlite\): for trying out and small installs/;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'securecomm-startup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function emptyDatabase() {
  const db = await createEmptyDatabase();
  cleanups.push(() => db.drop());
  return db;
}

async function withDatabase<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Starts a server on a free port and waits for its "listening" line. */
async function startServer(env: Record<string, string>): Promise<{ proc: ServerProcess; base: string }> {
  const port = await freePort();
  const proc = spawnServer({ PORT: String(port), ...env });
  await proc.waitForLine(LISTENING, 60_000);
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function post(base: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Registration through user-interactive auth: the 401 names the m.login.dummy flow, the second request passes it. */
async function register(base: string, username: string) {
  const challenge = await post(base, '/_matrix/client/v3/register', { username, password: PASSWORD });
  expect(challenge.status).toBe(401);
  expect(challenge.body.flows).toContainEqual({ stages: ['m.login.dummy'] });
  const done = await post(base, '/_matrix/client/v3/register', { username, password: PASSWORD, auth: { type: 'm.login.dummy', session: challenge.body.session } });
  expect(done.status).toBe(200);
  return done.body;
}

async function login(base: string, username: string) {
  return post(base, '/_matrix/client/v3/login', { type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: PASSWORD });
}

async function expectCleanStop(proc: ServerProcess) {
  expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(logLines(proc.stdout()).map((l) => l.msg)).toContain('stopped');
}

describe('embedded database', () => {
  // One life cycle in one test: every first start of a DATA_DIR initialises a PGlite cluster, which takes seconds.
  test('starts, refuses a second process on its DATA_DIR, stops cleanly, and restarts over a stale pid file with its data', async () => {
    const dataDir = tempDir();
    const pidFile = join(dataDir, 'securecomm.pid');
    const first = await startServer({ DATA_DIR: dataDir });
    const notices = first.proc.output().split('\n').filter((l) => EMBEDDED_NOTICE.test(l));
    expect(notices).toHaveLength(1);
    expect(logLines(first.proc.stdout()).find((l) => l.msg === 'database migrated')?.migrations).toEqual(knownMigrations());
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(first.proc.child.pid));

    const versions = await fetch(`${first.base}/_matrix/client/versions`);
    expect(versions.status).toBe(200);
    expect(((await versions.json()) as { versions: string[] }).versions).toContain('v1.1');
    const registered = await register(first.base, 'alice');
    expect(registered.user_id).toBe('@alice:localhost');
    const loggedIn = await login(first.base, 'alice');
    expect([loggedIn.status, loggedIn.body.user_id]).toEqual([200, '@alice:localhost']);

    // A second process on the same DATA_DIR exits non-zero, leaving the lock and the running server alone.
    const intruder = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    const refused = await intruder.waitForExit(60_000);
    expect(refused.code).not.toBe(0);
    expect(refused.code).not.toBeNull();
    expect(intruder.stderr()).toContain(`another SecureComm process is using DATA_DIR ${dataDir} (pid ${first.proc.child.pid}`);
    expect(intruder.output()).not.toMatch(LISTENING);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(first.proc.child.pid));
    expect((await fetch(`${first.base}/_matrix/client/versions`)).status).toBe(200);

    await expectCleanStop(first.proc);
    expect(existsSync(pidFile)).toBe(false);

    // A pid file left by a process that is gone (here: a child that has exited and been reaped) is replaced.
    const gone = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => gone.once('close', () => resolve(gone.pid!)));
    writeFileSync(pidFile, `${deadPid}\n`);
    const second = await startServer({ DATA_DIR: dataDir });
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(second.proc.child.pid));
    expect(logLines(second.proc.stdout()).map((l) => l.msg)).not.toContain('database migrated');
    const again = await login(second.base, 'alice');
    expect([again.status, again.body.user_id]).toEqual([200, '@alice:localhost']);
    const whoami = await fetch(`${second.base}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${registered.access_token}` } });
    expect(((await whoami.json()) as { user_id: string }).user_id).toBe('@alice:localhost');
    await expectCleanStop(second.proc);
    expect(existsSync(pidFile)).toBe(false);
  }, 180_000);
});

describe('PostgreSQL (DATABASE_URL)', () => {
  test('starts on an empty database and migrates it', async () => {
    const db = await emptyDatabase();
    const { proc, base } = await startServer({ DATABASE_URL: db.url, DATA_DIR: tempDir() });
    expect(proc.output()).not.toMatch(EMBEDDED_NOTICE);
    expect(logLines(proc.stdout()).find((l) => l.msg === 'database migrated')?.migrations).toEqual(knownMigrations());
    await register(base, 'bob');
    expect((await login(base, 'bob')).status).toBe(200);
    await expectCleanStop(proc);
    const users = await withDatabase(db.url, (sql) => sql`SELECT user_id FROM users`);
    expect(users.map((u) => u.user_id)).toEqual(['@bob:localhost']);
  }, 60_000);

  test('--migrate-only migrates and exits without listening; a second run finds nothing to do', async () => {
    const db = await emptyDatabase();
    const first = spawnServer({ DATABASE_URL: db.url }, ['--migrate-only']);
    expect(await first.waitForExit()).toEqual({ code: 0, signal: null });
    expect(first.output()).not.toMatch(LISTENING);
    expect(logLines(first.stdout()).find((l) => l.msg === 'database migrated')?.migrations).toEqual(knownMigrations());
    const applied = await withDatabase(db.url, (sql) => sql`SELECT name FROM pgmigrations ORDER BY id`);
    expect(applied.map((r) => r.name)).toEqual(knownMigrations());

    const second = spawnServer({ DATABASE_URL: db.url }, ['--migrate-only']);
    expect(await second.waitForExit()).toEqual({ code: 0, signal: null });
    expect(logLines(second.stdout()).map((l) => l.msg)).toContain('database schema is up to date');
  }, 60_000);

  test('a database with a migration this build does not know (a newer schema) is refused, unchanged', async () => {
    const db = await emptyDatabase();
    const migrated = spawnServer({ DATABASE_URL: db.url }, ['--migrate-only']);
    expect((await migrated.waitForExit()).code).toBe(0);
    await withDatabase(db.url, (sql) => sql`INSERT INTO pgmigrations (name, run_on) VALUES ('9999_from_the_future', now())`);
    const before = await withDatabase(db.url, (sql) => sql`SELECT id, name FROM pgmigrations ORDER BY id`);

    for (const args of [[], ['--migrate-only']]) {
      const proc = spawnServer({ DATABASE_URL: db.url, PORT: String(await freePort()) }, args);
      const exit = await proc.waitForExit();
      expect(exit.code).toBe(3);
      expect(proc.stderr()).toContain(
        'Refusing to start: The database schema is newer than this version of SecureComm knows (unknown migrations: 9999_from_the_future).',
      );
      expect(proc.output()).not.toMatch(LISTENING);
    }
    expect(await withDatabase(db.url, (sql) => sql`SELECT id, name FROM pgmigrations ORDER BY id`)).toEqual(before);
  }, 60_000);
});

describe('command line', () => {
  test('--help prints every setting and opens nothing', async () => {
    const dataDir = tempDir();
    const proc = spawnServer({ DATA_DIR: dataDir }, ['--help']);
    expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
    for (const s of SETTINGS) expect(proc.stdout()).toMatch(new RegExp(`^  ${s.env} `, 'm'));
    expect(proc.stdout()).toContain('SECURECOMM_CONFIG');
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
  });

  test('a bad setting stops start-up with a message naming it', async () => {
    const proc = spawnServer({ PORT: 'abc', DATA_DIR: tempDir() });
    expect((await proc.waitForExit()).code).toBe(2);
    expect(proc.stderr()).toContain('Configuration error: PORT must be an integer between 0 and 65535, got "abc"');
  });
});

describe('shutdown', () => {
  test('SIGTERM while a request is in flight: the request finishes, then the process exits 0', async () => {
    const db = await emptyDatabase();
    const { proc, base } = await startServer({ DATABASE_URL: db.url });
    await register(base, 'carol');
    const body = JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: PASSWORD });
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const req = http.request(`${base}/_matrix/client/v3/login`, {
      method: 'POST',
      agent,
      // With Expect: 100-continue the server answers "100 Continue" as it starts handling the request, so the
      // test knows the request is in flight (headers read, body awaited) before it sends SIGTERM.
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Expect: '100-continue' },
    });
    const response = new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
      req.once('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.once('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        res.once('error', reject);
      });
      req.once('error', reject);
    });
    await new Promise<void>((resolve) => req.once('continue', resolve));
    proc.child.kill('SIGTERM');
    await proc.waitForLine(/shutting down: finishing requests in flight/);
    // The server no longer accepts connections, but the request in flight is still served.
    await expect(fetch(`${base}/_matrix/client/versions`)).rejects.toThrow();
    req.end(body);
    const res = await response;
    expect([res.status, res.body.user_id]).toEqual([200, '@carol:localhost']);
    expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
    expect(logLines(proc.stdout()).map((l) => l.msg)).toContain('stopped');
  }, 60_000);
});
