/**
 * Lazy-loading room members (`lazy_load_members` in the room state filter), built to the /sync description and the
 * filter definitions of the spec: the state carries the member events of the timeline's senders that this device
 * has not been sent yet (all of them with `include_redundant_members`), the syncing user's own on a join and on
 * full_state, the heroes' members, and every membership change in a gap. What a device was sent is recorded per
 * device in the database (a lost response, an older token, a new session and another server process are tested).
 * /messages and /context carry their senders' members in `state`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startWithUsers, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { asUser, login } from '../support/accounts.js';
import { enc, roomHelpers, V3, type SyncBody } from '../support/rooms.js';
import { expectValidResponseById } from '../support/spec.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;

beforeAll(async () => ([t, [alice, bob, carol, dave]] = await startWithUsers(['alice', 'bob', 'carol', 'dave'])));
afterAll(() => t.close());

const { createRoom, join, leave, send, setState, sync } = roomHelpers(() => t.http);

interface Ev {
  event_id: string;
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}

const LAZY = (room: string, limit = 10, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ room: { rooms: [room], timeline: { limit }, state: { lazy_load_members: true, ...extra } } });
const REDUNDANT = (room: string, limit = 10) => LAZY(room, limit, { include_redundant_members: true });

/** The user ids whose m.room.member events are in a joined room's state section, sorted. */
function stateMembers(body: SyncBody, room: string): string[] {
  const events: Ev[] = body.rooms.join[room]?.state.events ?? [];
  return events.filter((e) => e.type === 'm.room.member').map((e) => e.state_key!).sort();
}

const sorted = (...users: TestUser[]) => users.map((u) => u.userId).sort();

/** A named room (no heroes) that alice creates and the others join. */
async function roomWith(...members: TestUser[]): Promise<string> {
  const room = await createRoom(alice, { preset: 'public_chat', name: 'Lazy room' });
  for (const m of members) await join(m, room);
  return room;
}

describe('initial sync', () => {
  test("the timeline's senders and the user's own member event, nothing else", async () => {
    const room = await roomWith(bob, carol, dave);
    await send(bob, room, 'b');
    await send(carol, room, 'c');
    const body = await sync(dave, { filter: LAZY(room, 2) });
    expect(body.rooms.join[room].timeline.events.map((e: Ev) => e.sender)).toEqual([bob.userId, carol.userId]);
    expect(stateMembers(body, room)).toEqual(sorted(bob, carol, dave));
    // Without lazy loading, every member.
    expect(stateMembers(await sync(dave, { filter: JSON.stringify({ room: { rooms: [room], timeline: { limit: 2 } } }) }), room)).toEqual(sorted(alice, bob, carol, dave));
  });

  test("an unnamed room's heroes come with their member events", async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, room);
    await join(carol, room);
    await send(carol, room, 'c');
    const body = await sync(carol, { filter: LAZY(room, 1) });
    const heroes: string[] = body.rooms.join[room].summary['m.heroes'];
    expect(heroes.sort()).toEqual(sorted(alice, bob));
    expect(stateMembers(body, room)).toEqual(sorted(alice, bob, carol));
  });
});

describe('incremental sync', () => {
  test('a member who never spoke is sent when they first speak, then not again (unless include_redundant_members)', async () => {
    const room = await roomWith(bob, carol);
    await send(alice, room, 'a');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    expect(stateMembers(first, room)).toEqual(sorted(alice, carol));
    // Bob joined before the initial sync's timeline: carol's device has not been sent his member event.
    await send(bob, room, 'b1');
    const second = await sync(carol, { since: first.next_batch, filter: LAZY(room, 1) });
    expect(second.rooms.join[room].timeline.limited).toBe(false);
    expect(stateMembers(second, room)).toEqual(sorted(bob));
    await send(bob, room, 'b2');
    await send(alice, room, 'a2');
    const third = await sync(carol, { since: second.next_batch, filter: LAZY(room, 5) });
    expect(third.rooms.join[room].timeline.events).toHaveLength(2);
    expect(stateMembers(third, room)).toEqual([]);
    // include_redundant_members: all of them, every time.
    const redundant = await sync(carol, { since: second.next_batch, filter: REDUNDANT(room, 5) });
    expect(stateMembers(redundant, room)).toEqual(sorted(alice, bob));
  });

  test('a lost response: the same token again gets the members again', async () => {
    const room = await roomWith(bob, carol);
    await send(alice, room, 'a');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    await send(bob, room, 'b');
    const lost = await sync(carol, { since: first.next_batch, filter: LAZY(room, 1) });
    expect(stateMembers(lost, room)).toEqual(sorted(bob));
    // The client never got `lost` and syncs from its older token: bob's member event must come again.
    const retry = await sync(carol, { since: first.next_batch, filter: LAZY(room, 1) });
    expect(stateMembers(retry, room)).toEqual(sorted(bob));
    // And once the client holds the retried response's token, not again.
    await send(bob, room, 'bagain');
    expect(stateMembers(await sync(carol, { since: retry.next_batch, filter: LAZY(room, 1) }), room)).toEqual([]);
  });

  test("an initial sync starts the device's record over (a client that cleared its cache)", async () => {
    const room = await roomWith(bob, carol);
    await send(bob, room, 'b');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    expect(stateMembers(first, room)).toEqual(sorted(bob, carol));
    await send(alice, room, 'a');
    // The same device starts afresh: its timeline holds alice's message only, so bob is not sent...
    const fresh = await sync(carol, { filter: LAZY(room, 1) });
    expect(stateMembers(fresh, room)).toEqual(sorted(alice, carol));
    // ...and when bob speaks, the new session is sent his member event, although the old one had it.
    await send(bob, room, 'b2');
    expect(stateMembers(await sync(carol, { since: fresh.next_batch, filter: LAZY(room, 1) }), room)).toEqual(sorted(bob));
  });

  test('each device has its own record', async () => {
    const room = await roomWith(bob, carol);
    const other = asUser((await login(t, carol.userId, carol.password)).body, carol.password);
    await send(alice, room, 'a');
    const mine = await sync(carol, { filter: LAZY(room, 1) });
    const theirs = await sync(other, { filter: LAZY(room, 1) });
    await send(bob, room, 'b');
    expect(stateMembers(await sync(carol, { since: mine.next_batch, filter: LAZY(room, 1) }), room)).toEqual(sorted(bob));
    expect(stateMembers(await sync(other, { since: theirs.next_batch, filter: LAZY(room, 1) }), room)).toEqual(sorted(bob));
  });

  test('a changed member event (a new display name) is sent again when its sender next speaks in a gap', async () => {
    const room = await roomWith(bob, carol);
    await send(bob, room, 'b');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    expect(stateMembers(first, room)).toContain(bob.userId);
    const renamed = await setState(bob, room, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Robert' });
    for (let i = 0; i < 3; i++) await send(bob, room, `b${i}`);
    const gappy = await sync(carol, { since: first.next_batch, filter: LAZY(room, 2) });
    expect(gappy.rooms.join[room].timeline.limited).toBe(true);
    const bobMember = (gappy.rooms.join[room].state.events as Ev[]).find((e) => e.type === 'm.room.member' && e.state_key === bob.userId);
    expect(bobMember?.event_id).toBe(renamed);
    expect(bobMember?.content.displayname).toBe('Robert');
  });

  test("full_state brings the user's own member event and the senders', even when already sent", async () => {
    const room = await roomWith(bob, carol);
    await send(bob, room, 'b');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    await send(bob, room, 'b2');
    const full = await sync(carol, { since: first.next_batch, full_state: true, filter: LAZY(room, 1) });
    expect(stateMembers(full, room)).toEqual(sorted(bob, carol));
    const types = (full.rooms.join[room].state.events as Ev[]).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.name']));
  });
});

describe('cost', () => {
  /** Runs `f` with the server's pool counting the statements it is given (tagged templates and unsafe). */
  async function countingStatements(f: () => Promise<unknown>): Promise<number> {
    const real = t.hs.sql;
    let n = 0;
    const counting = new Proxy(real, {
      apply(target, thisArg, args) {
        n++;
        return Reflect.apply(target as never, thisArg, args);
      },
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (prop === 'unsafe') return (...a: unknown[]) => (n++, (v as (...x: unknown[]) => unknown).apply(target, a));
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    (t.hs as { sql: unknown }).sql = counting;
    try {
      await f();
    } finally {
      (t.hs as { sql: unknown }).sql = real;
    }
    return n;
  }

  test('an incremental sync whose senders the device was sent reads no more than one without lazy loading', async () => {
    const room = await roomWith(bob, carol, dave);
    const plain = JSON.stringify({ room: { rooms: [room], timeline: { limit: 5 } } });
    await send(bob, room, 'b');
    await send(carol, room, 'c');
    // Timelines of two: bob's and carol's messages; dave, who joined before, is not sent.
    const lazyStart = await sync(carol, { filter: LAZY(room, 2) });
    const plainStart = await sync(carol, { filter: JSON.stringify({ room: { rooms: [room], timeline: { limit: 2 } } }) });
    expect(stateMembers(lazyStart, room)).toEqual(sorted(bob, carol));
    await send(bob, room, 'b2');
    await send(carol, room, 'c2');
    let lazyBody: SyncBody | undefined;
    const lazy = await countingStatements(async () => (lazyBody = await sync(carol, { since: lazyStart.next_batch, filter: LAZY(room, 5) })));
    const eager = await countingStatements(() => sync(carol, { since: plainStart.next_batch, filter: plain }));
    expect(lazyBody!.rooms.join[room].timeline.events).toHaveLength(2);
    expect(stateMembers(lazyBody!, room)).toEqual([]);
    expect(lazy).toBe(eager);
    // A new sender costs one read of their member event (and the record of it).
    await send(dave, room, 'd');
    let newBody: SyncBody | undefined;
    const withNew = await countingStatements(async () => (newBody = await sync(carol, { since: lazyBody!.next_batch, filter: LAZY(room, 5) })));
    expect(stateMembers(newBody!, room)).toEqual(sorted(dave));
    // At most one read of their member event and one statement recording it (this sync has no own event to look up).
    expect(withNew).toBeGreaterThan(eager - 1);
    expect(withNew).toBeLessThanOrEqual(eager + 2);
  });
});

describe('gappy (limited) incremental sync', () => {
  test('the senders not yet sent, and every membership change in the gap (joins, leaves), redundant or not', async () => {
    const room = await roomWith(bob, carol);
    await send(alice, room, 'a');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    expect(stateMembers(first, room)).toEqual(sorted(alice, carol));
    // In the gap: dave joins and never speaks, bob leaves; then alice (already sent) and... the timeline: alice only.
    await join(dave, room);
    await leave(bob, room);
    for (let i = 0; i < 4; i++) await send(alice, room, `a${i}`);
    const gappy = await sync(carol, { since: first.next_batch, filter: LAZY(room, 2) });
    const joined = gappy.rooms.join[room];
    expect(joined.timeline.limited).toBe(true);
    expect(joined.timeline.events.map((e: Ev) => e.sender)).toEqual([alice.userId, alice.userId]);
    expect(stateMembers(gappy, room)).toEqual(sorted(bob, dave));
    const bobState = (joined.state.events as Ev[]).find((e) => e.state_key === bob.userId);
    expect(bobState?.content.membership).toBe('leave');
    expectValidResponseById('sync', 200, gappy);
  });

  test('an old member who starts speaking after a gap is sent', async () => {
    const room = await roomWith(bob, carol);
    await send(alice, room, 'a');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    for (let i = 0; i < 4; i++) await send(alice, room, `a${i}`);
    await send(bob, room, 'finally');
    const gappy = await sync(carol, { since: first.next_batch, filter: LAZY(room, 2) });
    expect(gappy.rooms.join[room].timeline.limited).toBe(true);
    expect(stateMembers(gappy, room)).toEqual(sorted(bob));
  });
});

describe('several server processes share the record', () => {
  let b: SecondServer;
  beforeAll(async () => (b = await startSecondServer(t.database.url)));
  afterAll(() => b.close());

  test('a member sent through one process is not sent again through the other; a lost response is re-sent there', async () => {
    const room = await roomWith(bob, carol);
    await send(alice, room, 'a');
    const first = await sync(carol, { filter: LAZY(room, 1) });
    await send(bob, room, 'b');
    const viaA = await sync(carol, { since: first.next_batch, filter: LAZY(room, 1) });
    expect(stateMembers(viaA, room)).toEqual(sorted(bob));
    await send(bob, room, 'b2');
    const viaB = (await b.http.get(`${V3}/sync`).query({ since: viaA.next_batch, filter: LAZY(room, 1) }).set(carol.auth)).body as SyncBody;
    expect(viaB.rooms.join[room].timeline.events).toHaveLength(1);
    expect(stateMembers(viaB, room)).toEqual([]);
    const retryViaB = (await b.http.get(`${V3}/sync`).query({ since: first.next_batch, filter: LAZY(room, 1) }).set(carol.auth)).body as SyncBody;
    expect(stateMembers(retryViaB, room)).toEqual(sorted(bob));
  });
});

describe('the record is bounded and goes with its device', () => {
  test('deleting the device deletes its rows', async () => {
    const u = await registerUser(t);
    const room = await roomWith(u);
    await send(alice, room, 'a');
    await sync(u, { filter: LAZY(room, 1) });
    const count = async () => (await t.hs.sql`SELECT count(*)::int AS n FROM lazy_members_sent WHERE user_id = ${u.userId}`)[0].n as number;
    expect(await count()).toBeGreaterThan(0);
    expect((await t.http.post(`${V3}/logout`).set(u.auth).send({})).status).toBe(200);
    expect(await count()).toBe(0);
  });
});

describe('/messages and /context', () => {
  test("/messages: the state field holds the members of the chunk's senders", async () => {
    const room = await roomWith(bob, carol);
    const fromBob = await send(bob, room, 'b');
    await send(carol, room, 'c');
    const res = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query({ dir: 'b', limit: 2, filter: JSON.stringify({ lazy_load_members: true }) }).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getRoomEvents', 200, res.body);
    expect(res.body.chunk.map((e: Ev) => e.event_id)).toContain(fromBob);
    const members = (res.body.state as Ev[]).filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort();
    expect(members).toEqual(sorted(bob, carol));
    // Every call carries them (the server keeps no record for /messages: redundant is allowed).
    const again = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query({ dir: 'b', limit: 2, filter: JSON.stringify({ lazy_load_members: true }) }).set(alice.auth);
    expect((again.body.state as Ev[]).map((e) => e.state_key).sort()).toEqual(sorted(bob, carol));
  });

  test('/messages: the member event as of the chunk, not a later one', async () => {
    const room = await roomWith(bob);
    await setState(bob, room, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Then' });
    await send(bob, room, 'b');
    const page = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query({ dir: 'b', limit: 1, filter: JSON.stringify({ lazy_load_members: true }) }).set(alice.auth);
    const from = page.body.start as string;
    await setState(bob, room, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Now' });
    const res = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query({ dir: 'b', from, limit: 1, filter: JSON.stringify({ lazy_load_members: true }) }).set(alice.auth);
    const bobMember = (res.body.state as Ev[]).find((e) => e.state_key === bob.userId);
    expect(bobMember?.content.displayname).toBe('Then');
  });

  test("/context: the state holds the members of the returned events' senders, also under a types filter", async () => {
    const room = await roomWith(bob, carol, dave);
    await send(bob, room, 'b');
    const middle = await send(carol, room, 'c');
    await send(bob, room, 'b2');
    const query = (filter: Record<string, unknown>) =>
      t.http.get(`${V3}/rooms/${enc(room)}/context/${enc(middle)}`).query({ limit: 2, filter: JSON.stringify(filter) }).set(alice.auth);
    const res = await query({ lazy_load_members: true });
    expect(res.status).toBe(200);
    expectValidResponseById('getEventContext', 200, res.body);
    expect((res.body.state as Ev[]).filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort()).toEqual(sorted(bob, carol));
    const typed = await query({ lazy_load_members: true, types: ['m.room.encrypted'] });
    expect((typed.body.state as Ev[]).filter((e) => e.type === 'm.room.member').map((e) => e.state_key).sort()).toEqual(sorted(bob, carol));
  });
});
