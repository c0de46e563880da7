/**
 * A bot on matrix-nio (Debian's python3-matrix-nio 0.20 with python3-olm, run by /usr/bin/python3) and a
 * matrix-js-sdk client with Rust crypto exchange encrypted messages both ways in an encrypted room. nio 0.20 calls
 * the legacy /_matrix/client/r0 paths with the token in the access_token query parameter, so this is also the test
 * of those with a real older client (docs/legacy-clients.md). The bot is test/support/nio_bot.py.
 * Skipped, saying so, when /usr/bin/python3 cannot import nio and olm (a plain machine); CI installs both (.ci/run).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pino from 'pino';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import {
  baseUrlOf,
  cryptoClient,
  decrypted,
  joined,
  plaintextTracker,
  seesMembership,
  startSyncing,
  stopAll,
  trackLongTimers,
  waitFor,
  type E2eClient,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

const PYTHON = '/usr/bin/python3';
const BOT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'nio_bot.py');
const probe = spawnSync(PYTHON, ['-c', 'import nio, olm'], { encoding: 'utf8' });
const NIO_MISSING = probe.status === 0 ? undefined : `${PYTHON} cannot import nio and olm (install the Debian packages python3-matrix-nio and python3-olm, as .ci/run does)`;
if (NIO_MISSING) process.stderr.write(`test/e2e/nio-bot.test.ts skipped: ${NIO_MISSING}\n`);

trackLongTimers();
const { all: plaintexts, plain, tag } = plaintextTracker();
const ROOM_NAME = `nio room zr${tag}`;

/** What the bot reported (one JSON object per stdout line). */
interface BotEvent {
  event: 'ready' | 'joined' | 'message' | 'undecryptable' | 'sent' | 'error';
  [field: string]: unknown;
}

class NioBot extends EventEmitter {
  readonly events: BotEvent[] = [];
  stderr = '';
  private proc: ChildProcessWithoutNullStreams;
  private exited: Promise<number | null>;

  constructor(baseUrl: string, user: TestUser, readonly storeDir: string) {
    super();
    this.proc = spawn(PYTHON, [BOT_SCRIPT, baseUrl, user.userId, user.password, storeDir], { stdio: 'pipe' });
    let buffered = '';
    this.proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as BotEvent;
        this.events.push(ev);
        this.emit('bot', ev);
      }
    });
    this.proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.proc.once('exit', () => this.emit('bot'));
  }

  /** The first report `match` accepts (already made or still to come); fails at once if the bot reported an error or died. */
  next(match: (e: BotEvent) => boolean, what: string): Promise<BotEvent> {
    return waitFor(
      [[this, ['bot']]],
      () => {
        const error = this.events.find((e) => e.event === 'error');
        if (error) throw new Error(`the nio bot failed (${what}): ${JSON.stringify(error)}\n${this.stderr.slice(-4000)}`);
        if (this.proc.exitCode !== null) throw new Error(`the nio bot exited with ${this.proc.exitCode} (${what})\n${this.stderr.slice(-4000)}`);
        return this.events.find(match);
      },
      `the nio bot: ${what}`,
      60_000,
    );
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      this.proc.stdin.end('stop\n');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

let t: TestServer;
const logLines: string[] = [];
let alice: E2eClient;
let botUser: TestUser;
let bot: NioBot | undefined;
let storeDir: string;

(NIO_MISSING ? describe.skip : describe)('a matrix-nio bot and a matrix-js-sdk client in an encrypted room', () => {
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    t = await startTestServer({ logRequests: true }, pino({ level: 'info' }, sink));
    const aliceUser = await registerUser(t, `alice${tag}`);
    botUser = await registerUser(t, `niobot${tag}`);
    alice = await cryptoClient(t, aliceUser, 'alice');
    await startSyncing(alice);
    storeDir = mkdtempSync(path.join(tmpdir(), 'securecomm-nio-'));
    bot = new NioBot(baseUrlOf(t), botUser, storeDir);
  }, 90_000);

  afterAll(async () => {
    await bot?.stop();
    stopAll();
    await t?.close();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  }, 60_000);

  test('the bot joins when invited, decrypts what the js-sdk client sends, and its encrypted answer decrypts there', async () => {
    const ready = await bot!.next((e) => e.event === 'ready', 'login, first sync and key upload');
    expect(typeof ready.device_id).toBe('string');

    const roomId = (await alice.client.createRoom({ name: ROOM_NAME, invite: [botUser.userId] })).room_id;
    await joined(alice, roomId);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);
    await bot!.next((e) => e.event === 'joined' && e.room_id === roomId, 'joining the room it was invited to');
    await seesMembership(alice, roomId, botUser.userId, 'join');

    const toBot = plain('alice to the nio bot');
    const sent = await alice.client.sendTextMessage(roomId, toBot);
    const got = await bot!.next((e) => (e.event === 'message' || e.event === 'undecryptable') && e.event_id === sent.event_id, 'the message from alice');
    expect(got).toMatchObject({ event: 'message', sender: alice.user.userId, body: toBot, decrypted: true });

    const answer = await bot!.next((e) => e.event === 'sent' && e.room_id === roomId, 'its encrypted answer');
    const ev = await decrypted(alice, roomId, String(answer.event_id), 'alice to decrypt the nio bot answer');
    expect(ev.getWireType()).toBe('m.room.encrypted');
    expect(ev.getSender()).toBe(botUser.userId);
    expect(ev.getContent().body).toBe(`echo: ${toBot}`);
    plaintexts.push(`echo: ${toBot}`);

    // And a second round on the sessions already set up.
    const again = plain('alice to the nio bot, again');
    const sent2 = await alice.client.sendTextMessage(roomId, again);
    expect(await bot!.next((e) => e.event === 'message' && e.event_id === sent2.event_id, 'the second message')).toMatchObject({ body: again, decrypted: true });
    const answer2 = await bot!.next((e) => e.event === 'sent' && e.event_id !== answer.event_id, 'its second answer');
    expect((await decrypted(alice, roomId, String(answer2.event_id))).getContent().body).toBe(`echo: ${again}`);
  }, 180_000);

  test('nio called the r0 paths with the token in the query string, and no log line carries a token or a query', async () => {
    const requests = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    const routes = requests.map((l) => String(l.route));
    // Only nio calls r0 paths: every one of its requests was served (nothing it needs is missing).
    const r0 = requests.filter((l) => String(l.route).includes('/_matrix/client/r0/'));
    expect(r0.filter((l) => l.status !== 200).map((l) => `${l.route} ${l.status}`)).toEqual([]);
    for (const route of ['POST /_matrix/client/r0/login', 'GET /_matrix/client/r0/sync', 'POST /_matrix/client/r0/keys/upload', 'PUT /_matrix/client/r0/rooms/:roomId/send/:eventType/:txnId']) {
      expect(routes).toContain(route);
    }
    const all = logLines.join('\n');
    expect(all).not.toContain('access_token');
    expect(all).not.toContain(botUser.accessToken);
    expect(all).not.toContain('?');
  });

  test('no plaintext of either side reached the database', async () => {
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, ROOM_NAME);
  });
});
