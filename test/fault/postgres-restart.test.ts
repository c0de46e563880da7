/**
 * PostgreSQL restarted under traffic, with two server processes on it (a private cluster: the shared one is never
 * touched). While it is down every request is answered 503 with a retry hint, none 500 and none hangs; once it is
 * back both processes serve again by themselves, without a restart, and LISTEN is re-established: a long-poll on
 * one process is woken by a send through the other.
 */
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import postgres from 'postgres';
import { killAll, spawnServer, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { startPrivateCluster, type PgCluster } from '../support/pg-cluster.js';
import { call, createRoom, eventually, join, register, send, V3, type Account, type Reply } from '../support/client.js';

const LISTENING = /SecureComm listening on/;
const DATABASE = 'securecomm';

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPrivateCluster();
  const sql = postgres(cluster.url(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}, 120_000);
afterEach(() => killAll());
afterAll(() => cluster?.destroy(), 60_000);

async function start(): Promise<{ proc: ServerProcess; base: string }> {
  const port = await freePort();
  const proc = spawnServer({ PORT: String(port), DATABASE_URL: cluster.url(DATABASE), DATABASE_POOL_TIMEOUT_MS: '3000' });
  await proc.waitForLine(LISTENING, 120_000);
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** Server processes with a LISTEN connection on the database (each has one, shared by its channels). */
async function listeners(): Promise<number> {
  const sql = postgres(cluster.url(DATABASE), { max: 1, onnotice: () => {} });
  try {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${DATABASE} AND query ILIKE 'listen %'`;
    return n;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const expectRetryHint = (reply: Reply) => {
  expect(reply.body).toMatchObject({ errcode: 'M_UNKNOWN', retry_after_ms: expect.any(Number) });
  expect(Number(reply.headers?.get('retry-after'))).toBeGreaterThan(0);
};

/** An incremental sync's next_batch, once the server answers. */
async function syncToken(base: string, who: Account): Promise<string> {
  const res = await call(base, 'GET', `${V3}/sync?timeout=0`, { token: who.token });
  expect(res.status).toBe(200);
  return res.body.next_batch;
}

test('a restart under traffic: 503s with a retry hint meanwhile, then both processes serve again and wake each other', async () => {
  const a = await start();
  const b = await start();
  const alice = await register(a.base, 'alice');
  const bob = await register(b.base, 'bob');
  const roomId = await createRoom(a.base, alice);
  await join(b.base, bob, roomId);
  expect(await listeners()).toBeGreaterThanOrEqual(2);

  // Traffic on both processes: sends through A, sends and syncs through B, until told to stop (bounded).
  const replies: Reply[] = [];
  let stopping = false;
  let n = 0;
  const loop = async (step: () => Promise<Reply>) => {
    for (let i = 0; i < 5000 && !stopping; i++) {
      replies.push(await step());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const traffic = Promise.all([
    loop(() => send(a.base, alice, roomId, `a${++n}`)),
    loop(() => send(a.base, alice, roomId, `a${++n}`)),
    loop(() => send(b.base, bob, roomId, `b${++n}`)),
    loop(() => call(b.base, 'GET', `${V3}/sync?timeout=0`, { token: bob.token })),
  ]);
  // A long-poll on B that spans the restart: it must end (woken or refused), never hang.
  const since = await syncToken(b.base, bob);
  const spanning = call(b.base, 'GET', `${V3}/sync?since=${encodeURIComponent(since)}&timeout=60000`, { token: bob.token, deadlineMs: 90_000 });
  await eventually('traffic to flow', async () => (replies.filter((r) => r.status === 200).length >= 10 ? true : undefined), 60_000);

  await cluster.stop('fast');
  // While the database is down: a write and a read on each process, each a 503 with a retry hint.
  const down = await Promise.all([
    send(a.base, alice, roomId, 'while-down-a'),
    send(b.base, bob, roomId, 'while-down-b'),
    call(a.base, 'GET', `${V3}/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=5`, { token: alice.token }),
    call(b.base, 'GET', `${V3}/rooms/${encodeURIComponent(roomId)}/state`, { token: bob.token }),
  ]);
  for (const reply of down) {
    expect(reply.status).toBe(503);
    expectRetryHint(reply);
  }
  await cluster.start();

  // Back by themselves: each process serves a write again, without a restart.
  await eventually('A to write again', async () => ((await send(a.base, alice, roomId, `again-a${++n}`)).status === 200 ? true : undefined), 60_000);
  await eventually('B to write again', async () => ((await send(b.base, bob, roomId, `again-b${++n}`)).status === 200 ? true : undefined), 60_000);
  stopping = true;
  await traffic;

  // Nothing hung, nothing crashed, and every failure was a 503 with a retry hint.
  expect(replies.filter((r) => r.status === 0)).toEqual([]);
  for (const reply of replies.filter((r) => r.status !== 200)) {
    expect(reply.status).toBe(503);
    expectRetryHint(reply);
  }
  expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(10);
  const spanned = await spanning;
  expect([200, 503]).toContain(spanned.status);
  expect(a.proc.child.exitCode).toBeNull();
  expect(b.proc.child.exitCode).toBeNull();
  expect(a.proc.output()).not.toContain('unexpected error');
  expect(b.proc.output()).not.toContain('unexpected error');

  // LISTEN is back on both processes: a long-poll on B is woken by a send through A.
  await eventually('both LISTEN connections to be back', async () => ((await listeners()) >= 2 ? true : undefined), 60_000);
  const from = await syncToken(b.base, bob);
  const poll = call(b.base, 'GET', `${V3}/sync?since=${encodeURIComponent(from)}&timeout=60000`, { token: bob.token, deadlineMs: 90_000 });
  // Time for the poll to find nothing and wait (were it not waiting yet, it would see the event without a wake).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const sentAt = Date.now();
  const woke = await send(a.base, alice, roomId, 'wake-b');
  expect(woke.status).toBe(200);
  const polled = await poll;
  expect(polled.status).toBe(200);
  expect(polled.body.rooms.join[roomId].timeline.events.map((e: { event_id: string }) => e.event_id)).toContain(woke.body.event_id);
  // Woken, not timed out (60 s).
  expect(Date.now() - sentAt).toBeLessThan(20_000);
}, 300_000);
