/**
 * The database statements one sliding sync response costs (issue 16): counted, never timed. The common incremental
 * case (an open connection, one new message in one room of the window) and the woken long-poll (the same, the message
 * arriving while the request waits, every extension on) are pinned, so that a change that adds a round trip to every
 * response shows here. The count covers the whole HTTP request (authentication included).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startSecondServer, startWithUsers, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { eventually } from '../support/client.js';
import { roomHelpers } from '../support/rooms.js';
import type { Sql } from '../../src/db/database.js';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
/** A second process on the same database: writes through it are not counted, and wake the first across processes. */
let other: SecondServer;
let alice: TestUser, bob: TestUser;
/** Statements run on hs.sql while `counting`, by the start of their text. */
let counting = false;
const seen: string[] = [];

type Pending = { handler?: (q: unknown) => void; strings?: readonly string[] };

/** hs.sql wrapped: every statement that runs (not a fragment) is recorded while counting. */
function counted(sql: Sql): Sql {
  const mark = <Q>(q: Q, text: () => string): Q => {
    const p = q as unknown as Pending;
    if (p && typeof p.handler === 'function') {
      const handler = p.handler;
      p.handler = Object.assign((x: unknown) => {
        if (counting) seen.push(text().replace(/\s+/g, ' ').trim().slice(0, 70));
        handler(x);
      }, handler);
    }
    return q;
  };
  return new Proxy(sql, {
    apply: (target, thisArg, args) => mark(Reflect.apply(target, thisArg, args), () => (Array.isArray(args[0]) ? (args[0] as string[]).join('$') : 'helper')),
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'unsafe') return (...a: unknown[]) => mark((v as (...x: unknown[]) => unknown)(...a), () => String(a[0]));
      return v;
    },
  });
}

beforeAll(async () => {
  [t, [alice, bob]] = await startWithUsers(2);
  t.hs.sql = counted(t.hs.sql);
  other = await startSecondServer(t.database.url);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

const { createRoom, join, send } = roomHelpers(() => t.http);
const elsewhere = roomHelpers(() => other.http);

async function ss(body: Record<string, unknown>, query: Record<string, string | number> = {}): Promise<{ pos: string; rooms: Record<string, Record<string, unknown>> }> {
  const res = await t.http.post(PATH).query(query).set(alice.auth).send(body);
  expect(res.status).toBe(200);
  return res.body;
}

async function statementsOf<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  seen.length = 0;
  counting = true;
  try {
    return [await fn(), [...seen]];
  } finally {
    counting = false;
  }
}

test('an incremental response with one new message in one room of the window: its statement count', async () => {
  const rooms: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await createRoom(bob, { name: `room ${i}`, preset: 'public_chat' });
    await join(alice, r);
    rooms.push(r);
  }
  const body = { conn_id: 'count', lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [['m.room.name', '']] } } };
  const first = await ss(body);
  expect(Object.keys(first.rooms).sort()).toEqual([...rooms].sort());
  // Settled: the same request again, nothing new (the sticky parameters are already stored).
  const settled = await ss(body, { pos: first.pos, timeout: 0 });
  await send(bob, rooms[1], 1);
  const [next, statements] = await statementsOf(() => ss(body, { pos: settled.pos, timeout: 0 }));
  expect(Object.keys(next.rooms)).toEqual([rooms[1]]);
  expect(next.rooms[rooms[1]]).toMatchObject({ notification_count: 1, highlight_count: 0 });
  // The access token, the connection (opened while the room list's changes are read), what the connection holds of
  // the window with the account data and the changed room's counts (one statement), the room's new events. No new
  // generation: the response only advanced the timeline of a room the connection keeps.
  expect({ count: statements.length, statements }).toEqual({ count: 5, statements: expect.any(Array) });
});

test('a woken long-poll (one message arrives while it waits, every extension on): its statement count', async () => {
  const rooms: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await createRoom(bob, { name: `woken ${i}`, preset: 'public_chat' });
    await join(alice, r);
    rooms.push(r);
  }
  const extensions = { to_device: { enabled: true }, e2ee: { enabled: true }, account_data: { enabled: true }, receipts: { enabled: true }, typing: { enabled: true } };
  const body = { conn_id: 'woken', lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [['m.room.name', '']] } }, extensions };
  const first = await ss(body);
  const settled = await ss(body, { pos: first.pos, timeout: 0 });
  let sent = '';
  const [next, statements] = await statementsOf(async () => {
    const waiting = ss(body, { pos: settled.pos, timeout: 60_000 });
    await eventually('the long-poll to wait', async () => (t.hs.notifier.waiting() === 1 ? true : undefined));
    sent = await elsewhere.send(bob, rooms[1], 1);
    return waiting;
  });
  expect((next.rooms[rooms[1]].timeline as { event_id: string }[]).map((e) => e.event_id)).toEqual([sent]);
  expect(Object.keys(next.rooms)).toEqual([rooms[1]]);
  expect(next.rooms[rooms[1]]).toMatchObject({ notification_count: 1, highlight_count: 0 });
  // Before the wait: the access token, the connection while the room list's changes, what the connection holds of the
  // window with the account data, the extensions. After the wake: the list's changes with which of the window's rooms
  // have events since, their counts and new events (what the connection holds is not read again), the extensions.
  // No new generation.
  expect({ count: statements.length, statements }).toEqual({ count: 7, statements: expect.any(Array) });
});
