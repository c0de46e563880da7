/**
 * securecomm-notify as a child process (node --import tsx bots/notify/cli.ts) against a listening server: its
 * encrypted message is decrypted by a matrix-js-sdk client with Rust crypto, a second run reuses its device, and
 * a wrong URL, token or room makes it exit non-zero with a message that says so.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { PROJECT_ROOT } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { baseUrlOf, cryptoClient, decrypted, seesMembership, startSyncing, stopAll, trackLongTimers, type E2eClient } from '../support/e2e-clients.js';

trackLongTimers();

let t: TestServer;
let aliceUser: TestUser;
let notifier: TestUser;
let alice: E2eClient;
let roomId: string;
const dirs: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  aliceUser = await registerUser(t, 'alice');
  notifier = await registerUser(t, 'notifier');
  alice = await cryptoClient(t, aliceUser, 'alice');
  await startSyncing(alice);
  roomId = (await alice.client.createRoom({ name: 'ci', invite: [notifier.userId], room_alias_name: 'ci' })).room_id;
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'securecomm-notify-'));
  dirs.push(d);
  return d;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source; bounded by execFile's timeout (the CLI itself gives up after --timeout). */
function notify(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'bots/notify/cli.ts', ...args],
      { cwd: PROJECT_ROOT, timeout: 45_000, env: { ...process.env, HOMESERVER_URL: '', BOT_ACCESS_TOKEN: '', BOT_USER: '', BOT_PASSWORD: '', BOT_DATA_DIR: '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}

describe('securecomm-notify', () => {
  test('sends an encrypted message that a member decrypts, and reuses its device on the next run', async () => {
    const dir = await dataDir();
    const common = ['--homeserver', baseUrlOf(t), '--token', notifier.accessToken, '--data-dir', dir, '--timeout', '30'];
    const first = await notify([...common, roomId, 'build', '#42', 'passed']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const eventId = first.stdout.trim();
    expect(eventId).toMatch(/^\$/);
    await seesMembership(alice, roomId, notifier.userId, 'join');
    const ev = await decrypted(alice, roomId, eventId);
    expect(ev.getWireType()).toBe('m.room.encrypted');
    expect(ev.getContent().body).toBe('build #42 passed');
    expect(ev.getSender()).toBe(notifier.userId);

    // Second run: the alias, the message on standard input, and the same device (no new login, no new keys).
    const second = await notify(['--homeserver', baseUrlOf(t), '--data-dir', dir, '#ci:test.local'], 'deploy done\n');
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const ev2 = await decrypted(alice, roomId, second.stdout.trim());
    expect(ev2.getContent().body).toBe('deploy done');
    expect(ev2.getWireType()).toBe('m.room.encrypted');
    const devices = await t.http.get('/_matrix/client/v3/devices').set(notifier.auth);
    expect((devices.body.devices as unknown[]).length).toBe(1);
  }, 90_000);

  test('a server that is not there: exit 1, "cannot reach the homeserver"', async () => {
    const port = await freePort();
    const run = await notify(['--homeserver', `http://127.0.0.1:${port}`, '--token', notifier.accessToken, '--data-dir', await dataDir(), roomId, 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^securecomm-notify: cannot reach the homeserver at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  }, 30_000);

  test('a wrong token: exit 1, "access token was refused"', async () => {
    const run = await notify(['--homeserver', baseUrlOf(t), '--token', 'not-a-token', '--data-dir', await dataDir(), roomId, 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^securecomm-notify: the access token was refused by http:\/\/127\.0\.0\.1:\d+ \(M_UNKNOWN_TOKEN\)/);
  }, 30_000);

  test('a wrong password: exit 1, "login refused"', async () => {
    const run = await notify(['--homeserver', baseUrlOf(t), '--user', 'notifier', '--password', 'wrong', '--data-dir', await dataDir(), roomId, 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^securecomm-notify: login as notifier refused: wrong user or password/);
  }, 30_000);

  test('an unknown alias or a room it is not in: exit 1, saying which', async () => {
    const dir = await dataDir();
    const common = ['--homeserver', baseUrlOf(t), '--user', 'notifier', '--password', notifier.password, '--data-dir', dir];
    const alias = await notify([...common, '#nowhere:test.local', 'hi']);
    expect(alias.code).toBe(1);
    expect(alias.stderr).toMatch(/^securecomm-notify: room alias #nowhere:test\.local not found/);
    const room = await notify([...common, '!unknown:test.local', 'hi']);
    expect(room.code).toBe(1);
    expect(room.stderr).toMatch(/^securecomm-notify: @notifier:test\.local is not in room !unknown:test\.local: invite it first/);
  }, 60_000);

  test('bad usage: exit 2', async () => {
    const run = await notify(['--homeserver', baseUrlOf(t), 'no-room-sigil', 'hi']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not a room id or alias/);
  });
});
