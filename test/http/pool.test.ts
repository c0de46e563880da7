/**
 * The pool's rules over real HTTP (docs/database.md, "Transactions and the pool"): the pool is out of reach inside a
 * transaction, a request that cannot get a connection is answered 503 with a retry hint within the pool timeout and
 * the server is well afterwards, and a storm of profile changes, joins and sends by members of shared rooms goes
 * through on PostgreSQL (the suite's pool, and a pool of one) and on the embedded database (a pool of one).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPostgres, transaction, type Database } from '../../src/db/database.js';
import { openEmbedded } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { NestedPoolUseError } from '../../src/db/pool.js';
import { createTestDatabase, TEST_POOL_SIZE, type TestDatabase } from '../support/db.js';
import { registerUser, startServerOn, type SecondServer, type TestUser } from '../support/server.js';

const V3 = '/_matrix/client/v3';
const r = encodeURIComponent;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** Unpadded base64 of `n` random bytes. */
const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
const megolm = () => ({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: b64(96), session_id: b64(32), sender_key: b64(32), device_id: 'POOLTEST' });

/** Holds the pool's only connection in a transaction until the returned function is called. */
async function holdConnection(db: Database): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const done = transaction(db.sql, async (tx) => {
    await tx`SELECT 1`;
    held();
    await released;
  });
  await holding;
  return {
    async release() {
      release();
      await done;
    },
  };
}

describe('inside a transaction', () => {
  let db: Database;
  beforeAll(() => {
    db = connectPostgres(database.url, 1, { timeoutMs: 20_000, txGuard: true });
  });
  afterAll(() => db.close());

  test('a query or a transaction on the pool fails at once, and the pool is well afterwards', async () => {
    const started = Date.now();
    await expect(transaction(db.sql, async () => db.sql`SELECT 1`)).rejects.toThrow(NestedPoolUseError);
    await expect(transaction(db.sql, async () => db.sql.unsafe('SELECT 1'))).rejects.toThrow(NestedPoolUseError);
    await expect(transaction(db.sql, async () => transaction(db.sql, async () => 1))).rejects.toThrow(NestedPoolUseError);
    // Also from a later turn of the event loop inside the transaction.
    await expect(
      transaction(db.sql, async (tx) => {
        await tx`SELECT 1`;
        await new Promise((resolve) => setTimeout(resolve, 10));
        return db.sql`SELECT 1`;
      }),
    ).rejects.toThrow(NestedPoolUseError);
    // Far sooner than the pool timeout (20 s): nothing waited for the connection the transaction held.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await transaction(db.sql, async (tx) => (await tx`SELECT 2 AS n`)[0].n)).toBe(2);
    expect((await db.sql`SELECT 3 AS n`)[0].n).toBe(3);
  });

  test('sql.begin is closed (transactions go through transaction()); sql.reserve waits in the same line', async () => {
    await expect(db.sql.begin(async () => 1)).rejects.toThrow(/transaction\(\)/);
    const reserved = await db.sql.reserve();
    const waiting = db.sql`SELECT 4 AS n`;
    let answered = false;
    void waiting.then(() => (answered = true));
    await reserved`SELECT 1`;
    expect(answered).toBe(false);
    reserved.release();
    expect((await waiting)[0].n).toBe(4);
  });
});

describe('no connection free', () => {
  let s: SecondServer;
  let alice: TestUser;
  beforeAll(async () => {
    s = await startServerOn(connectPostgres(database.url, 1, { timeoutMs: 500 }));
    alice = await registerUser(s);
  });
  afterAll(() => s.close());

  test('requests are answered 503 M_UNKNOWN with a retry hint within the pool timeout; afterwards all is well', async () => {
    const hold = await holdConnection(s.hs.db);
    const started = Date.now();
    const [read, write, create] = await Promise.all([
      s.http.get(`${V3}/profile/${r(alice.userId)}`),
      s.http.put(`${V3}/profile/${r(alice.userId)}/displayname`).set(alice.auth).send({ displayname: 'Waiting' }),
      s.http.post(`${V3}/createRoom`).set(alice.auth).send({}),
    ]);
    const elapsed = Date.now() - started;
    for (const res of [read, write, create]) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ errcode: 'M_UNKNOWN', retry_after_ms: expect.any(Number) });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(10_000);
    await hold.release();

    // Nothing was left behind: the refused write did not happen later, and the pool serves a burst.
    expect((await s.http.get(`${V3}/profile/${r(alice.userId)}`)).body.displayname).not.toBe('Waiting');
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? s.http.get(`${V3}/profile/${r(alice.userId)}`) : s.http.put(`${V3}/profile/${r(alice.userId)}/displayname`).set(alice.auth).send({ displayname: `n${i}` }),
      ),
    );
    expect(burst.map((res) => res.status)).toEqual(Array(20).fill(200));
    expect((await s.http.post(`${V3}/createRoom`).set(alice.auth).send({})).status).toBe(200);
  });

  test('a waiting long-poll holds no connection: other requests are served meanwhile, and it is woken', async () => {
    const roomId = (await s.http.post(`${V3}/createRoom`).set(alice.auth).send({})).body.room_id as string;
    const since = (await s.http.get(`${V3}/sync`).set(alice.auth)).body.next_batch as string;
    const poll = s.http.get(`${V3}/sync`).query({ since, timeout: 20_000 }).set(alice.auth);
    const polled = poll.then((res) => res);
    await waitFor(() => s.hs.notifier.waiting() === 1);
    // Longer than the pool timeout (500 ms) in all: a poll holding the connection would turn these into 503s.
    for (let i = 0; i < 6; i++) {
      expect((await s.http.put(`${V3}/profile/${r(alice.userId)}/m.tz`).set(alice.auth).send({ 'm.tz': `Zone/${i}` })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sent = await s.http.put(`${V3}/rooms/${r(roomId)}/send/m.room.encrypted/wake1`).set(alice.auth).send(megolm());
    expect(sent.status).toBe(200);
    const res = await polled;
    expect(res.status).toBe(200);
    expect(res.body.rooms.join[roomId].timeline.events.map((e: { event_id: string }) => e.event_id)).toContain(sent.body.event_id);
  });
});

/** Polls `check` every 20 ms for up to 10 s. */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(check()).toBe(true);
}

/**
 * 50 requests at once by members of shared rooms: display-name changes (each rewrites the member event in every
 * room of its user), joins and sends. Every one succeeds, each send is stored once, and each renamed member's
 * event carries the name their profile ended with.
 */
async function storm(s: SecondServer): Promise<void> {
  const users = await Promise.all(Array.from({ length: 10 }, () => registerUser(s)));
  const [owner, ...others] = users;
  const createRoom = async () => (await s.http.post(`${V3}/createRoom`).set(owner.auth).send({ preset: 'public_chat' })).body.room_id as string;
  const shared = [await createRoom(), await createRoom()];
  const open = await createRoom();
  const renamers = users.slice(0, 6);
  const joiners = users.slice(6);
  for (const roomId of shared) for (const u of others) expect((await s.http.post(`${V3}/join/${r(roomId)}`).set(u.auth).send({})).status).toBe(200);

  let n = 0;
  const sends: Array<{ roomId: string; txnId: string }> = [];
  const ops = Array.from({ length: 50 }, (_, i) => {
    const kind = i % 3;
    if (kind === 0) {
      const u = renamers[i % renamers.length];
      return s.http.put(`${V3}/profile/${r(u.userId)}/displayname`).set(u.auth).send({ displayname: `name ${i}` });
    }
    if (kind === 1) {
      const u = joiners[i % joiners.length];
      return s.http.post(`${V3}/join/${r(open)}`).set(u.auth).send({});
    }
    const u = users[i % users.length];
    const roomId = shared[i % 2];
    const txnId = `storm${++n}`;
    sends.push({ roomId, txnId });
    return s.http.put(`${V3}/rooms/${r(roomId)}/send/m.room.encrypted/${txnId}`).set(u.auth).send(megolm());
  });
  const started = Date.now();
  const results = await Promise.all(ops);
  expect(results.map((res) => [res.status, res.body.errcode])).toEqual(results.map(() => [200, undefined]));
  expect(Date.now() - started).toBeLessThan(60_000);

  const sentIds = results.filter((res) => res.body.event_id).map((res) => res.body.event_id as string);
  expect(sentIds).toHaveLength(sends.length);
  expect(new Set(sentIds).size).toBe(sentIds.length);
  const stored = new Map<string, number>();
  for (const roomId of shared) {
    const res = await s.http.get(`${V3}/rooms/${r(roomId)}/messages`).query({ dir: 'b', limit: 1000 }).set(owner.auth);
    expect(res.status).toBe(200);
    for (const e of res.body.chunk as Array<{ type: string; event_id: string }>) {
      if (e.type === 'm.room.encrypted') stored.set(e.event_id, (stored.get(e.event_id) ?? 0) + 1);
    }
  }
  for (const id of sentIds) expect(stored.get(id)).toBe(1);

  for (const u of renamers) {
    const profile = await s.http.get(`${V3}/profile/${r(u.userId)}`);
    for (const roomId of shared) {
      const member = await s.http.get(`${V3}/rooms/${r(roomId)}/state/m.room.member/${r(u.userId)}`).set(owner.auth);
      expect(member.body).toMatchObject({ membership: 'join', displayname: profile.body.displayname });
    }
  }
  for (const u of joiners) {
    const joined = await s.http.get(`${V3}/joined_rooms`).set(u.auth);
    expect(joined.body.joined_rooms).toEqual(expect.arrayContaining([...shared, open]));
  }
}

describe('50 concurrent profile changes, joins and sends by members of shared rooms', () => {
  test(`on PostgreSQL, a pool of ${TEST_POOL_SIZE}`, async () => {
    const s = await startServerOn(connectPostgres(database.url, TEST_POOL_SIZE));
    try {
      await storm(s);
    } finally {
      await s.close();
    }
  }, 120_000);

  test('on PostgreSQL, a pool of one', async () => {
    const s = await startServerOn(connectPostgres(database.url, 1));
    try {
      await storm(s);
    } finally {
      await s.close();
    }
  }, 120_000);

  test('on the embedded database (a pool of one)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'securecomm-pool-'));
    try {
      const db = await openEmbedded(dataDir);
      await migrate(db);
      const s = await startServerOn(db);
      try {
        await storm(s);
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
