/**
 * The database statements one sliding sync response costs (issue 16): counted, never timed. The common incremental
 * case (an open connection, one new message in one room of the window) and the woken long-poll (the same, the message
 * arriving while the request waits, every extension on) are pinned, so that a change that adds a round trip to every
 * response shows here; so is a room coming back into the window with receipts and room account data from while it
 * was out (extensions/scope-changes.ts). The count covers the whole HTTP request (authentication included).
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
  const sent = await send(bob, rooms[1], 1);
  const [next, statements] = await statementsOf(() => ss(body, { pos: settled.pos, timeout: 0 }));
  expect((next.rooms[rooms[1]].timeline as { event_id: string }[]).map((e) => e.event_id)).toEqual([sent]);
  expect(Object.keys(next.rooms)).toEqual([rooms[1]]);
  expect(next.rooms[rooms[1]]).toMatchObject({ notification_count: 1, highlight_count: 0 });
  // The access token, the connection (opened while the room list's changes are read), what the connection holds of
  // the window with the account data and the changed room's counts and new events (one statement). No new
  // generation: the response only advanced the timeline of a room the connection keeps.
  expect({ count: statements.length, statements }).toEqual({ count: 4, statements: expect.any(Array) });
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

test('a room scrolled back into the window with a receipt and a tag from while it was out: its statement count', async () => {
  const [older, newer] = [await createRoom(bob, { preset: 'public_chat' }), await createRoom(bob, { preset: 'public_chat' })];
  await join(alice, older);
  await join(alice, newer);
  const seen = await send(bob, older, 'older');
  await send(bob, newer, 'newer');
  const extensions = { receipts: { enabled: true }, account_data: { enabled: true } };
  const list = (end: number) => ({ ranges: [[0, end]], timeline_limit: 1, required_state: [['m.room.name', '']] });
  const first = await ss({ conn_id: 'back', lists: { all: list(1) }, extensions });
  const narrowed = await ss({ conn_id: 'back', lists: { all: list(0) }, extensions }, { pos: first.pos, timeout: 0 });
  await t.http.post(`/_matrix/client/v3/rooms/${encodeURIComponent(older)}/receipt/m.read/${encodeURIComponent(seen)}`).set(bob.auth).send({}).expect(200);
  await t.http.put(`/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/rooms/${encodeURIComponent(older)}/tags/u.x`).set(alice.auth).send({}).expect(200);
  const out = await ss({ conn_id: 'back', lists: { all: list(0) }, extensions }, { pos: narrowed.pos, timeout: 0 });
  const [back, statements] = await statementsOf(() => ss({ conn_id: 'back', lists: { all: list(1) }, extensions }, { pos: out.pos, timeout: 0 }));
  const parts = (back as unknown as { rooms: Record<string, unknown>; extensions: Record<string, { rooms: Record<string, unknown> }> });
  expect(parts.rooms[older]).toBeUndefined();
  expect(parts.extensions.receipts.rooms[older]).toBeDefined();
  expect(parts.extensions.account_data.rooms[older]).toBeDefined();
  // The access token, the connection (with the room list's changes), what the connection holds of the window, the
  // extensions' one statement, the returning room's account data and receipts after its own position (together), the
  // new generation (the ranges changed: written anyway). Without the returning room's two reads this response is 6.
  expect({ count: statements.length, statements }).toEqual({ count: 8, statements: expect.any(Array) });
});
