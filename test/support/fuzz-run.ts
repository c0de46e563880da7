/**
 * The OpenAPI fuzz run, on any database (test/http/fuzz-openapi.test.ts on PostgreSQL, fuzz-openapi-embedded.test.ts
 * on the embedded PGlite): an authenticated user (a server admin, so the admin API is reached too) sends hostile
 * requests (fuzz-requests.ts) aimed at its own and another user's rooms, events, devices and aliases. Properties, per
 * request: never a 5xx; an answer within CASE_LIMIT_MS; and a refused request (4xx) leaves the database exactly as it
 * was (every table's rows and md5). The summary line gives the cases run per operation and the statuses they got.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { Hs } from '../../src/hs.js';
import { registerUser, type TestUser } from './server.js';
import { changedTables, dbFingerprint } from './db-state.js';
import { V3, roomHelpers, type Agent } from './rooms.js';
import { documentedOperations, requestsFor, type GeneratedRequest, type Operation, type Targets } from './fuzz-requests.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const CASE_LIMIT_MS = 10_000;
/**
 * Besides its request, a case reads two fingerprints of the whole database (row counts and an md5 of every table),
 * which on the embedded database (PGlite, one thread) under a busy machine's load took over 10 s a pair. A hang is
 * caught per request by CASE_LIMIT_MS; the test's own timeout is only a net, so it leaves the fingerprints room.
 */
const CASE_CHECKS_ALLOWANCE_MS = 30_000;

/** What the run needs of a server: its Hs (for the database), an agent on it, and a way to stop it. */
export interface FuzzServer {
  hs: Hs;
  http: Agent;
  close(): Promise<void>;
}

/** Declares the suite: `runs` cases per documented operation against the server `start` gives. */
export function fuzzEveryOperation(label: string, start: () => Promise<FuzzServer>, runs: number): void {
  let t: FuzzServer;
  /** The fuzzing user; replaced when a generated request ends its session (logout, deactivation, ...). */
  let fuzzer: TestUser;
  let targets: Targets;
  const casesRun = new Map<string, number>();
  const rooms = roomHelpers(() => t.http);
  /** How many cases got each status class, to see how deep the cases reach (2xx: past every check). */
  const statusClasses = new Map<string, number>();

  async function newFuzzer(): Promise<TestUser> {
    const u = await registerUser(t);
    await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${u.userId}`;
    return u;
  }

  beforeAll(async () => {
    t = await start();
    fuzzer = await newFuzzer();
    const bob = await registerUser(t);
    const bobPublic = await rooms.createRoom(bob, { preset: 'public_chat', room_alias_name: 'fuzzpublic', visibility: 'public' });
    const bobPrivate = await rooms.createRoom(bob, { preset: 'private_chat' });
    const own = await rooms.createRoom(fuzzer, { preset: 'private_chat' });
    await rooms.join(fuzzer, bobPublic);
    const eventIds = [await rooms.send(bob, bobPublic, 1), await rooms.send(bob, bobPrivate, 2), await rooms.send(fuzzer, own, 3), await rooms.send(fuzzer, bobPublic, 4)];
    await t.http.post(`${V3}/room_keys/version`).set(bob.auth).send({ algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: 'abc' } });
    targets = {
      userIds: [fuzzer.userId, bob.userId, '@nobody:test.local', '@x:other.example'],
      roomIds: [bobPublic, bobPrivate, own, '!unknown:test.local'],
      eventIds: [...eventIds, '$unknown'],
      aliases: ['#fuzzpublic:test.local', '#none:test.local'],
      deviceIds: [fuzzer.deviceId, bob.deviceId],
      other: ['m.room.encrypted', 'm.room.member', 'm.room.topic', 'm.reaction', 'm.annotation', 'm.thread', '0', '1', '.m.rule.master', 'global', 's1_0', 'm.megolm.v1.aes-sha2'],
    };
  }, 180_000); // PGlite starts and migrates in the hook: generous under a loaded machine

  afterAll(async () => {
    if (casesRun.size > 0) {
      const total = [...casesRun.values()].reduce((a, b) => a + b, 0);
      const classes = [...statusClasses].sort().map(([c, n]) => `${c} ${n}`).join(', ');
      console.log(`fuzz (${label}): ${total} cases over ${casesRun.size} operations (seed ${SEED}; ${classes}): ${[...casesRun].map(([op, n]) => `${op} ${n}`).join(', ')}`);
    }
    await t?.close();
  });

  function send(op: Operation, req: GeneratedRequest) {
    const method = op.method.toLowerCase() as 'get' | 'put' | 'post' | 'delete';
    let r = t.http[method](req.url).timeout({ deadline: CASE_LIMIT_MS });
    if (req.authenticated) r = r.set(fuzzer.auth);
    if (req.body === undefined) return r;
    return r.set('Content-Type', typeof req.body === 'string' ? 'application/json' : 'application/octet-stream').send(req.body);
  }

  /** A 401 carrying UIA flows starts a UIA session (a row), by design: not a refusal that must change nothing. */
  const startsUia = (status: number, body: unknown) => status === 401 && typeof body === 'object' && body !== null && 'flows' in body;

  async function runCase(op: Operation, req: GeneratedRequest): Promise<void> {
    casesRun.set(op.operationId, (casesRun.get(op.operationId) ?? 0) + 1);
    const before = await dbFingerprint(t.hs.sql);
    let res: { status: number; body: unknown };
    try {
      res = await send(op, req);
    } catch (err) {
      throw new Error(`${op.method} ${req.url}: no answer within ${CASE_LIMIT_MS} ms (${(err as Error).message})`);
    }
    if (process.env.FUZZ_DEBUG) console.log(res.status, req.url.slice(0, 120));
    const statusClass = `${Math.floor(res.status / 100)}xx`;
    statusClasses.set(statusClass, (statusClasses.get(statusClass) ?? 0) + 1);
    const what = `${op.method} ${req.url.slice(0, 300)} body ${String(req.body).slice(0, 300)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
    if (res.status >= 500) throw new Error(`server error: ${what}`);
    if (res.status >= 400 && res.status !== 429 && !startsUia(res.status, res.body)) {
      const changed = changedTables(before, await dbFingerprint(t.hs.sql));
      if (changed.length > 0) throw new Error(`refused, yet changed ${changed.join(', ')}: ${what}`);
    }
    if (res.status < 300 && op.method !== 'GET') {
      // The request may have ended the fuzzer's session or account: carry on with a fresh one.
      if ((await t.http.get(`${V3}/account/whoami`).set(fuzzer.auth)).status !== 200) fuzzer = await newFuzzer();
    }
  }

  describe(`every documented operation under hostile input (${label})`, () => {
    const operations = documentedOperations();
    test('openapi.yaml lists the operations', () => {
      expect(operations.length).toBeGreaterThan(100);
    });

    test.each(operations.map((op) => [`${op.method} ${op.path} (${op.operationId})`, op] as const))(
      '%s',
      async (_name, op) => {
        await fc.assert(
          fc.asyncProperty(requestsFor(op, targets), (req) => runCase(op, req)),
          { seed: SEED, numRuns: runs, endOnFailure: true },
        );
      },
      runs * (CASE_LIMIT_MS + CASE_CHECKS_ALLOWANCE_MS) + 10_000,
    );
  });
}
