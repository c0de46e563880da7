/**
 * The /sync timeline that clients build on, to the spec's TimelineBatch and /messages definitions: `limited` is true
 * only when events were dropped by the limit (a type filter that leaves events out makes no gap, and the state
 * events it leaves out before the timeline come in `state`); prev_batch of any sync pages back with /messages, whose
 * `end` is omitted at the end of history; a user who leaves and rejoins gets the state that changed while away.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3, type SyncBody } from '../support/rooms.js';
import { expectValidResponseById } from '../support/spec.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(['alice', 'bob', 'carol'])));
afterAll(() => t.close());

const { createRoom, join, invite, leave, send, setState, sync } = roomHelpers(() => t.http);

interface Ev {
  event_id: string;
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}

const ONLY_MESSAGES = (room: string, limit: number, state: Record<string, unknown> = {}) =>
  JSON.stringify({ room: { rooms: [room], timeline: { limit, types: ['m.room.encrypted'] }, state } });
const LIMIT = (room: string, limit: number) => JSON.stringify({ room: { rooms: [room], timeline: { limit } } });
const ids = (events: Ev[]) => events.map((e) => e.event_id);

async function messages(u: TestUser, room: string, query: Record<string, string | number>) {
  const res = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query(query).set(u.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getRoomEvents', 200, res.body);
  return res.body as { start: string; end?: string; chunk: Ev[]; state?: Ev[] };
}

describe('limited', () => {
  test('a type filter that leaves events out does not make a gap (initial sync)', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const sent = [await send(alice, room, 1), await send(alice, room, 2), await send(alice, room, 3)];
    // Exactly the limit of matching events, after many state events the filter leaves out.
    const body = await sync(alice, { filter: ONLY_MESSAGES(room, 3) });
    const tl = body.rooms.join[room].timeline;
    expect(ids(tl.events)).toEqual(sent);
    expect(tl.limited).toBe(false);
    // One more matching event than the limit: limited.
    const fourth = await send(alice, room, 4);
    const again = await sync(alice, { filter: ONLY_MESSAGES(room, 3) });
    expect(ids(again.rooms.join[room].timeline.events)).toEqual([...sent.slice(1), fourth]);
    expect(again.rooms.join[room].timeline.limited).toBe(true);
  });

  test('incremental: filtered-out events make no gap, and the state events left out come in the state section', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const first = await sync(alice, { filter: ONLY_MESSAGES(room, 2) });
    const topic = await setState(alice, room, 'm.room.topic', '', { topic: 'left out by the filter' });
    const sent = [await send(alice, room, 'x'), await send(alice, room, 'y')];
    const body = await sync(alice, { since: first.next_batch, filter: ONLY_MESSAGES(room, 2) });
    const joined = body.rooms.join[room];
    expect(ids(joined.timeline.events)).toEqual(sent);
    expect(joined.timeline.limited).toBe(false);
    expect(ids(joined.state.events)).toEqual([topic]);
  });

  test('the limit itself still makes a gap, with the state of the gap', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const first = await sync(alice, { filter: LIMIT(room, 2) });
    const topic = await setState(alice, room, 'm.room.topic', '', { topic: 'in the gap' });
    for (let i = 0; i < 3; i++) await send(alice, room, i);
    const joined = (await sync(alice, { since: first.next_batch, filter: LIMIT(room, 2) })).rooms.join[room];
    expect(joined.timeline.limited).toBe(true);
    expect(ids(joined.state.events)).toEqual([topic]);
  });

  test('events the user may not see make no gap either', async () => {
    const room = await createRoom(alice, { preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] });
    for (let i = 0; i < 3; i++) await send(alice, room, `before${i}`);
    await invite(alice, room, bob);
    await join(bob, room);
    const after = await send(alice, room, 'after');
    const tl = (await sync(bob, { filter: LIMIT(room, 5) })).rooms.join[room].timeline;
    expect(ids(tl.events).at(-1)).toBe(after);
    expect(tl.events.every((e: Ev) => e.type !== 'm.room.encrypted' || e.event_id === after)).toBe(true);
  });
});

describe('paging', () => {
  test('prev_batch of a non-limited incremental sync pages back into earlier history; end is omitted at the end', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const older = [await send(alice, room, 'o1'), await send(alice, room, 'o2')];
    const first = await sync(alice, { filter: LIMIT(room, 10) });
    const newer = await send(alice, room, 'n1');
    const body = await sync(alice, { since: first.next_batch, filter: LIMIT(room, 10) });
    const tl = body.rooms.join[room].timeline;
    expect(tl.limited).toBe(false);
    expect(ids(tl.events)).toEqual([newer]);
    const page = await messages(alice, room, { dir: 'b', from: tl.prev_batch, limit: 2 });
    expect(ids(page.chunk)).toEqual([older[1], older[0]]);
    expect(page.end).toBeDefined();
    // Page back to the room's creation: the last page has no `end`.
    let from = page.end!;
    let pages = 0;
    for (;;) {
      const p = await messages(alice, room, { dir: 'b', from, limit: 3 });
      pages++;
      if (p.end === undefined) {
        expect(p.chunk.at(-1)?.type ?? 'm.room.create').toBe('m.room.create');
        break;
      }
      expect(p.chunk.length).toBeGreaterThan(0);
      from = p.end;
      expect(pages).toBeLessThan(20);
    }
  });

  test('a page that ends exactly at the start of history has no end', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const all = await messages(alice, room, { dir: 'b', limit: 100 });
    expect(all.end).toBeUndefined();
    const n = all.chunk.length;
    const exact = await messages(alice, room, { dir: 'b', limit: n });
    expect(exact.chunk).toHaveLength(n);
    expect(exact.end).toBeUndefined();
    // Forwards too: a page that reaches the newest event has no end.
    const forward = await messages(alice, room, { dir: 'f', limit: n });
    expect(forward.chunk).toHaveLength(n);
    expect(forward.end).toBeUndefined();
    const shorter = await messages(alice, room, { dir: 'b', limit: n - 1 });
    expect(shorter.end).toBeDefined();
  });

  test('a filter: no end once no more matching events are left', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const sent = [await send(alice, room, 'p1'), await send(alice, room, 'p2')];
    const page = await messages(alice, room, { dir: 'b', limit: 2, filter: JSON.stringify({ types: ['m.room.encrypted'] }) });
    expect(ids(page.chunk)).toEqual([sent[1], sent[0]]);
    expect(page.end).toBeUndefined();
  });

  test('the initial sync prev_batch of an empty timeline still pages back', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const first = await sync(alice, { filter: ONLY_MESSAGES(room, 5) });
    const tl = first.rooms.join[room].timeline;
    expect(tl.events).toEqual([]);
    expect(tl.limited).toBe(false);
    const page = await messages(alice, room, { dir: 'b', from: tl.prev_batch, limit: 50 });
    expect(page.chunk.at(-1)?.type).toBe('m.room.create');
    expect(page.end).toBeUndefined();
  });
});

describe('rejoin', () => {
  /** A room whose history only members see; alice, bob and the changes made while bob is away. */
  async function awayChanges(visibility: string) {
    const room = await createRoom(alice, { preset: 'public_chat', name: 'Before', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: visibility } }] });
    await join(bob, room);
    await send(alice, room, 'hello');
    return room;
  }

  async function whileAway(room: string): Promise<{ name: string; pl: string; carolJoin: string }> {
    await join(carol, room);
    const carolJoin = (await t.http.get(`${V3}/rooms/${enc(room)}/state/m.room.member/${enc(carol.userId)}`).set(alice.auth)).body;
    expect(carolJoin.membership).toBe('join');
    const name = await setState(alice, room, 'm.room.name', '', { name: 'After' });
    const plNow = (await t.http.get(`${V3}/rooms/${enc(room)}/state/m.room.power_levels/`).set(alice.auth)).body;
    const pl = await setState(alice, room, 'm.room.power_levels', '', { ...plNow, users: { ...plNow.users, [carol.userId]: 50 } });
    const state = (await t.http.get(`${V3}/rooms/${enc(room)}/state`).set(alice.auth)).body as Ev[];
    return { name, pl, carolJoin: state.find((e) => e.type === 'm.room.member' && e.state_key === carol.userId)!.event_id };
  }

  function expectCaughtUp(body: SyncBody, room: string, away: { name: string; pl: string; carolJoin: string }) {
    const joined = body.rooms.join[room];
    expect(joined).toBeDefined();
    const seen = new Set([...ids(joined.state.events), ...ids(joined.timeline.events)]);
    for (const id of [away.name, away.pl, away.carolJoin]) expect(seen).toContain(id);
  }

  for (const visibility of ['joined', 'shared']) {
    test(`leave and rejoin within one sync's range (history_visibility ${visibility}): the state that changed while away`, async () => {
      const room = await awayChanges(visibility);
      const before = await sync(bob);
      await leave(bob, room);
      const away = await whileAway(room);
      await join(bob, room);
      await send(alice, room, 'welcomeback');
      const body = await sync(bob, { since: before.next_batch });
      expectCaughtUp(body, room, away);
      const joined = body.rooms.join[room];
      if (visibility === 'joined') {
        // What was sent while bob was away stays hidden: the timeline starts after it, with a gap.
        const hidden = joined.timeline.events.filter((e: Ev) => [away.name, away.pl, away.carolJoin].includes(e.event_id));
        expect(hidden).toEqual([]);
        expect(joined.timeline.limited).toBe(true);
      }
      // Lazy-loading: carol, who joined while bob was away, is among the state's members although she never spoke.
      const lazy = await sync(bob, { since: before.next_batch, filter: JSON.stringify({ room: { state: { lazy_load_members: true } } }) });
      expectCaughtUp(lazy, room, away);
    });

    test(`the leave synced, then the rejoin (history_visibility ${visibility}): the state that changed while away`, async () => {
      const room = await awayChanges(visibility);
      await leave(bob, room);
      const afterLeave = await sync(bob);
      const away = await whileAway(room);
      await join(bob, room);
      const body = await sync(bob, { since: afterLeave.next_batch });
      expectCaughtUp(body, room, away);
      const lazy = await sync(bob, { since: afterLeave.next_batch, filter: JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } }) });
      expectCaughtUp(lazy, room, away);
      // The user's own membership is there (the timeline's, which follows the state's, is the one that counts).
      const own = [...lazy.rooms.join[room].state.events, ...lazy.rooms.join[room].timeline.events].filter((e: Ev) => e.state_key === bob.userId);
      expect(own.at(-1)?.content.membership).toBe('join');
    });
  }
});
