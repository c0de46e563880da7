/**
 * Three server processes on one PostgreSQL, with the machine's NATS as their bus (BUS_URL, a prefix of their own),
 * behind a real HAProxy on loopback (test/support/haproxy.ts: leastconn, /ready health checks, no stickiness).
 * - A message sent through one process reaches the long-polls held by the other two, once.
 * - A process killed with SIGKILL under traffic and started again loses nothing: clients retry through HAProxy (the
 *   same transaction ids, the same since tokens), every send ends in one stored event and every poller sees it once.
 * - A rolling restart (each process in turn: SIGTERM, start again, wait until ready) drops no message.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { spawnServer, killAll, type ServerProcess } from '../support/process.js';
import { freePort } from '../support/ports.js';
import { busPrefix, NATS_URL } from '../support/nats.js';
import { startHaproxy, type Haproxy } from '../support/haproxy.js';
import { call, createRoom, encryptedEventIds, join, register, send, V3, type Account, type Reply } from '../support/client.js';

const LISTENING = /SecureComm listening on/;
/** The timeline of each sync holds up to this many events (more than a phase sends between two polls). */
const FILTER = JSON.stringify({ room: { timeline: { limit: 200 } } });

interface Node {
  port: number;
  base: string;
  proc: ServerProcess;
}

let database: TestDatabase;
let haproxy: Haproxy;
const nodes: Node[] = [];
let env: Record<string, string>;
let alice: Account;
let pollers: Account[];
let roomId: string;

async function startNode(port: number): Promise<ServerProcess> {
  const proc = spawnServer({ ...env, PORT: String(port) });
  await proc.waitForLine(LISTENING, 120_000);
  return proc;
}

/** Until GET /ready of a process answers 200 (HAProxy's check then takes it back within its interval). */
async function waitReady(base: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await call(base, 'GET', '/ready', { deadlineMs: 5000 })).status !== 200) {
    if (Date.now() > deadline) throw new Error(`${base} not ready after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  env = { DATABASE_URL: database.url, BUS_URL: NATS_URL, BUS_PREFIX: busPrefix(), LOG_REQUESTS: 'off', PUSH_DELIVERY: 'off', DATABASE_POOL_TIMEOUT_MS: '5000' };
  const ports = [await freePort(), await freePort(), await freePort()];
  // The first one migrates the fresh database; the others start once it is done.
  nodes.push({ port: ports[0], base: `http://127.0.0.1:${ports[0]}`, proc: await startNode(ports[0]) });
  const rest = await Promise.all(ports.slice(1).map(startNode));
  rest.forEach((proc, i) => nodes.push({ port: ports[i + 1], base: `http://127.0.0.1:${ports[i + 1]}`, proc }));
  haproxy = await startHaproxy(ports, 250);
  await Promise.all(nodes.map((n) => waitReady(n.base)));
  // HAProxy routes once its own checks have seen the processes ready.
  await waitReady(haproxy.url);

  alice = await register(haproxy.url, 'alice');
  pollers = [await register(haproxy.url, 'bob'), await register(haproxy.url, 'carol'), await register(haproxy.url, 'dave')];
  roomId = await createRoom(haproxy.url, alice);
  for (const p of pollers) await join(haproxy.url, p, roomId);
}, 240_000);

afterAll(async () => {
  await killAll();
  await haproxy?.stop();
  await database?.drop();
});

/** A request retried while the answer is no answer (a killed process), 502/503/504 (HAProxy, a process stopping). */
async function retrying(attempt: () => Promise<Reply>, ms = 60_000): Promise<Reply> {
  const deadline = Date.now() + ms;
  for (;;) {
    const reply = await attempt();
    if (![0, 502, 503, 504].includes(reply.status) || Date.now() > deadline) return reply;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A client long-polling `base` from `since` until `stop()` and until it has seen `expected()` events; returns the
 * encrypted event ids of every response it received, in order (a duplicate would be a message delivered twice).
 */
function poller(base: () => string, who: Account, since: string, expected: () => number, timeoutMs = 5000) {
  const seen: string[] = [];
  let stopping = false;
  let failures = 0;
  const run = (async () => {
    let token = since;
    const deadline = Date.now() + 180_000;
    while ((!stopping || seen.length < expected()) && Date.now() < deadline) {
      const reply = await call(base(), 'GET', `${V3}/sync?since=${encodeURIComponent(token)}&timeout=${timeoutMs}&filter=${encodeURIComponent(FILTER)}`, { token: who.token, deadlineMs: timeoutMs + 30_000 });
      if (reply.status !== 200) {
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const room = reply.body.rooms?.join?.[roomId];
      if (room) {
        expect(room.timeline.limited).not.toBe(true);
        for (const e of room.timeline.events as { type: string; event_id: string }[]) if (e.type === 'm.room.encrypted') seen.push(e.event_id);
      }
      token = reply.body.next_batch;
    }
  })();
  return {
    seen,
    failures: () => failures,
    async finish() {
      stopping = true;
      await run;
      return seen;
    },
  };
}

async function syncToken(base: string, who: Account): Promise<string> {
  const reply = await retrying(() => call(base, 'GET', `${V3}/sync?timeout=0&filter=${encodeURIComponent(FILTER)}`, { token: who.token }));
  expect(reply.status).toBe(200);
  return reply.body.next_batch;
}

/** Sends `count` messages through HAProxy one after the other (retrying each), calling `between(i)` before each. */
async function sendAll(tag: string, count: number, between: (i: number) => Promise<void> = async () => {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    await between(i);
    const reply = await retrying(() => send(haproxy.url, alice, roomId, `${tag}-${i}`, 20_000));
    expect([`${tag}-${i}`, reply.status]).toEqual([`${tag}-${i}`, 200]);
    ids.push(reply.body.event_id);
  }
  return ids;
}

const sorted = (ids: string[]) => [...ids].sort();

test('a message sent through one process reaches the long-polls held by the others, once each', async () => {
  // Poller i holds its long-polls on process i; message j is sent through process j, so each poller gets two of the
  // three from other processes, woken through NATS.
  const tokens = await Promise.all(pollers.map((p, i) => syncToken(nodes[i].base, p)));
  const sent: string[] = [];
  // Long-polls of 20 s: a poller that had to wait for its timeout to see a message would take longer than allowed below.
  const polls = pollers.map((p, i) => poller(() => nodes[i].base, p, tokens[i], () => sent.length, 20_000));
  for (let j = 0; j < 6; j++) {
    const reply = await send(nodes[j % 3].base, alice, roomId, `direct-${j}`);
    expect(reply.status).toBe(200);
    sent.push(reply.body.event_id);
  }
  const started = Date.now();
  const results = await Promise.all(polls.map((p) => p.finish()));
  // Woken, not timed out: well within one long-poll timeout (20 s) of the last send.
  expect(Date.now() - started).toBeLessThan(10_000);
  for (const seen of results) expect(seen).toEqual(sent);
}, 60_000);

test('a process killed (SIGKILL) and started again under traffic loses nothing; clients retry through HAProxy', async () => {
  const tokens = await Promise.all(pollers.map((p) => syncToken(haproxy.url, p)));
  const expected: { n: number } = { n: Number.MAX_SAFE_INTEGER };
  const polls = pollers.map((p, i) => poller(() => haproxy.url, p, tokens[i], () => expected.n));
  const victim = nodes[1];
  let restarted: Promise<void> | undefined;
  const ids = await sendAll('kill', 24, async (i) => {
    if (i === 8) {
      victim.proc.child.kill('SIGKILL');
      restarted = (async () => {
        await victim.proc.waitForExit(30_000);
        victim.proc = await startNode(victim.port);
        await waitReady(victim.base);
      })();
    }
    if (i === 16) await restarted;
  });
  expected.n = ids.length;
  await restarted;
  for (const p of polls) expect(sorted(await p.finish())).toEqual(sorted(ids));
  for (const p of polls) expect(new Set(p.seen).size).toBe(p.seen.length);
  // Stored once each: 6 from the first test, 24 here.
  const stored = await encryptedEventIds(haproxy.url, alice, roomId);
  expect(stored.slice(-24)).toEqual(ids);
  expect(stored).toHaveLength(30);
}, 240_000);

test('a rolling restart (SIGTERM, start again, wait until ready; each process in turn) drops no message', async () => {
  const tokens = await Promise.all(pollers.map((p) => syncToken(haproxy.url, p)));
  const expected: { n: number } = { n: Number.MAX_SAFE_INTEGER };
  const polls = pollers.map((p, i) => poller(() => haproxy.url, p, tokens[i], () => expected.n));
  let rolling = true;
  const roll = (async () => {
    for (const node of nodes) {
      expect(await node.proc.stop('SIGTERM', 60_000)).toEqual({ code: 0, signal: null });
      node.proc = await startNode(node.port);
      await waitReady(node.base);
    }
    rolling = false;
  })();
  // Messages all through the roll, and a few after it.
  const ids: string[] = [];
  let extra = 3;
  for (let i = 0; rolling || extra-- > 0; i++) {
    const [id] = await sendAll(`roll-${i}`, 1);
    ids.push(id);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await roll;
  expected.n = ids.length;
  for (const p of polls) expect(sorted(await p.finish())).toEqual(sorted(ids));
  for (const p of polls) expect(new Set(p.seen).size).toBe(p.seen.length);
  const stored = await encryptedEventIds(haproxy.url, alice, roomId);
  expect(stored.slice(-ids.length)).toEqual(ids);
  expect(stored).toHaveLength(30 + ids.length);
}, 300_000);
