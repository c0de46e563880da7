/**
 * GET /sync over HTTP: initial and incremental sync of joined, invited and left rooms, filters, account data and
 * push rules, transaction ids, and long-polling (what wakes a poll and what must not). Responses match the spec.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { login } from '../support/accounts.js';
import { enc, megolm, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

interface Ev {
  event_id: string;
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

const { createRoom, join, invite, leave, send, setState, sync } = roomHelpers(() => t.http);

async function post(u: TestUser, path: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await t.http.post(`${V3}${path}`).set(u.auth).send(body);
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
}

const ids = (events: Ev[]) => events.map((e) => e.event_id);
const timelineOf = (body: { rooms: { join: Record<string, { timeline: { events: Ev[] } }> } }, roomId: string): Ev[] => body.rooms.join[roomId]?.timeline.events ?? [];
const isEmptySync = (body: Record<string, any>) =>
  ['join', 'invite', 'leave', 'knock'].every((k) => Object.keys(body.rooms?.[k] ?? {}).length === 0) && (body.account_data?.events ?? []).length === 0;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(['alice', 'bob', 'carol'])));
afterAll(() => t.close());

describe('initial sync', () => {
  let roomId: string;
  let sent: string[];

  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    sent = [];
    for (let i = 0; i < 12; i++) sent.push(await send(alice, roomId, i));
  });

  test('a joined room: limited timeline with prev_batch, the state before it, summary with heroes, unread counts', async () => {
    const body = await sync(bob);
    const room = body.rooms.join[roomId];
    expect(room).toBeDefined();
    // Default limit 10 of the 12 messages: the newest ten, oldest first.
    expect(ids(room.timeline.events)).toEqual(sent.slice(2));
    expect(room.timeline.limited).toBe(true);
    expect(typeof room.timeline.prev_batch).toBe('string');
    const state: Ev[] = room.state.events;
    const stateTypes = state.map((e) => `${e.type}|${e.state_key}`);
    expect(stateTypes).toEqual(expect.arrayContaining(['m.room.create|', 'm.room.power_levels|', 'm.room.encryption|', `m.room.member|${alice.userId}`, `m.room.member|${bob.userId}`]));
    // State is the state at the start of the timeline: nothing in it also appears in the timeline.
    expect(state.filter((e) => ids(room.timeline.events).includes(e.event_id))).toEqual([]);
    expect(room.summary).toEqual({ 'm.heroes': [alice.userId], 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
    // Bob has sent no receipt: all 12 of Alice's messages since he joined are unread.
    expect(room.unread_notifications).toEqual({ notification_count: 12, highlight_count: 0 });
    expect(typeof body.next_batch).toBe('string');

    // prev_batch continues backwards exactly where the timeline starts.
    const page = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', from: room.timeline.prev_batch, limit: 2 }).set(bob.auth);
    expect(page.status).toBe(200);
    expect(page.body.chunk.map((e: Ev) => e.event_id)).toEqual([sent[1], sent[0]]);
  });

  test('a room the user was invited to: stripped invite_state including the invite event', async () => {
    const invRoom = await createRoom(alice, { preset: 'private_chat', name: 'Secret plans' });
    await invite(alice, invRoom, carol);
    const body = await sync(carol);
    const inv = body.rooms.invite[invRoom];
    expect(inv).toBeDefined();
    const events: Array<Record<string, unknown>> = inv.invite_state.events;
    for (const e of events) expect(Object.keys(e).sort()).toEqual(['content', 'sender', 'state_key', 'type']);
    expect(events).toEqual(
      expect.arrayContaining([
        { type: 'm.room.member', state_key: carol.userId, sender: alice.userId, content: expect.objectContaining({ membership: 'invite' }) },
        expect.objectContaining({ type: 'm.room.name', content: { name: 'Secret plans' } }),
        expect.objectContaining({ type: 'm.room.create' }),
        expect.objectContaining({ type: 'm.room.join_rules' }),
      ]),
    );
    // Nothing beyond stripped state: no timeline, no power levels.
    expect(events.some((e) => e.type === 'm.room.power_levels')).toBe(false);
    expect(body.rooms.join[invRoom]).toBeUndefined();
  });

  test('a left room is absent from initial sync unless include_leave; a forgotten room is absent even then', async () => {
    const left = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, left);
    const msg = await send(alice, left, 'before-leave');
    await leave(carol, left);
    const plain = await sync(carol);
    expect(plain.rooms.leave[left]).toBeUndefined();
    expect(plain.rooms.join[left]).toBeUndefined();

    const withLeave = await sync(carol, { filter: JSON.stringify({ room: { include_leave: true } }) });
    const room = withLeave.rooms.leave[left];
    expect(room).toBeDefined();
    const tl: Ev[] = room.timeline.events;
    expect(ids(tl)).toContain(msg);
    expect(tl.at(-1)).toMatchObject({ type: 'm.room.member', state_key: carol.userId, content: { membership: 'leave' } });
    // A left room, new to the client, comes with the state at the start of its timeline (as a joined room would).
    const short = await sync(carol, { filter: JSON.stringify({ room: { include_leave: true, timeline: { limit: 2 } } }) });
    expect(ids(short.rooms.leave[left].timeline.events)).toEqual(ids(tl.slice(-2)));
    expect(short.rooms.leave[left].state.events.map((e: Ev) => e.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels']));

    await post(carol, `/rooms/${enc(left)}/forget`);
    const forgotten = await sync(carol, { filter: JSON.stringify({ room: { include_leave: true } }) });
    expect(forgotten.rooms.leave[left]).toBeUndefined();
  });

  test('summary counts invited members; heroes are absent from a named room', async () => {
    const r = await createRoom(alice, { preset: 'private_chat', invite: [carol.userId] });
    const named = await createRoom(alice, { preset: 'private_chat', name: 'Named', invite: [carol.userId] });
    const body = await sync(alice);
    expect(body.rooms.join[r].summary).toEqual({ 'm.heroes': [carol.userId], 'm.joined_member_count': 1, 'm.invited_member_count': 1 });
    expect(body.rooms.join[named].summary['m.heroes'] ?? []).toEqual([]);
  });
});

describe('incremental sync', () => {
  let roomId: string;
  let since: string;

  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    since = (await sync(bob)).next_batch;
  });

  test('returns only what is new, with an unlimited timeline and no state', async () => {
    const a = await send(alice, roomId, 'n1');
    const b = await send(alice, roomId, 'n2');
    const body = await sync(bob, { since });
    const room = body.rooms.join[roomId];
    expect(ids(room.timeline.events)).toEqual([a, b]);
    expect(room.timeline.limited).toBe(false);
    expect(room.state.events).toEqual([]);
    since = body.next_batch;
    // Nothing new: an empty answer, with a usable next_batch.
    const again = await sync(bob, { since });
    expect(isEmptySync(again)).toBe(true);
    expect(again.next_batch).toBe(since);
  });

  test('a room joined after since comes with its full state', async () => {
    const other = await createRoom(alice, { preset: 'public_chat' });
    await setState(alice, other, 'm.room.topic', '', { topic: 'for newcomers' });
    await join(bob, other);
    const body = await sync(bob, { since });
    const room = body.rooms.join[other];
    const all: Ev[] = [...room.state.events, ...room.timeline.events];
    const keys = all.map((e) => `${e.type}|${e.state_key}`);
    expect(keys).toEqual(expect.arrayContaining(['m.room.create|', 'm.room.power_levels|', 'm.room.join_rules|', 'm.room.topic|', `m.room.member|${alice.userId}`, `m.room.member|${bob.userId}`]));
    expect(room.timeline.events.at(-1)).toMatchObject({ type: 'm.room.member', state_key: bob.userId });
    since = body.next_batch;
  });

  test('a profile change (a new join event) does not make a room look newly joined', async () => {
    const put = await t.http.put(`${V3}/profile/${encodeURIComponent(bob.userId)}/displayname`).set(bob.auth).send({ displayname: 'Bobby' });
    expect(put.status).toBe(200);
    const body = await sync(bob, { since });
    const room = body.rooms.join[roomId];
    expect(room.timeline.events).toEqual([expect.objectContaining({ type: 'm.room.member', state_key: bob.userId, content: expect.objectContaining({ displayname: 'Bobby' }) })]);
    expect(room.timeline.limited).toBe(false);
    expect(room.state.events).toEqual([]);
    since = (await sync(bob)).next_batch;
  });

  test('a limited timeline carries the state that changed in the gap', async () => {
    const topic = await setState(alice, roomId, 'm.room.topic', '', { topic: 'changed in the gap' });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(await send(alice, roomId, `gap${i}`));
    const body = await sync(bob, { since, filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
    const room = body.rooms.join[roomId];
    expect(ids(room.timeline.events)).toEqual(sent.slice(2));
    expect(room.timeline.limited).toBe(true);
    expect(ids(room.state.events)).toEqual([topic]);
    // full_state=true: the whole state at the timeline's start, even for an incremental sync.
    const full = await sync(bob, { since, full_state: 'true', filter: JSON.stringify({ room: { timeline: { limit: 3 } } }) });
    const fullRoom = full.rooms.join[roomId];
    expect(ids(fullRoom.timeline.events)).toEqual(sent.slice(2));
    const keys = fullRoom.state.events.map((e: Ev) => `${e.type}|${e.state_key}`);
    expect(keys).toEqual(expect.arrayContaining(['m.room.create|', 'm.room.topic|', `m.room.member|${alice.userId}`, `m.room.member|${bob.userId}`]));
    since = body.next_batch;
  });

  test('an invite and then a leave show up in the invite and leave sections', async () => {
    const r = await createRoom(alice, { preset: 'private_chat' });
    await invite(alice, r, bob);
    const inv = await sync(bob, { since });
    expect(inv.rooms.invite[r]).toBeDefined();
    since = inv.next_batch;
    await join(bob, r);
    const msg = await send(alice, r, 'while-joined');
    const joined = await sync(bob, { since });
    expect(ids(joined.rooms.join[r].timeline.events)).toContain(msg);
    since = joined.next_batch;
    const last = await send(alice, r, 'just-before-leave');
    await leave(bob, r);
    const left = await sync(bob, { since });
    expect(left.rooms.join[r]).toBeUndefined();
    const tl: Ev[] = left.rooms.leave[r].timeline.events;
    expect(ids(tl)[0]).toBe(last);
    expect(tl.at(-1)).toMatchObject({ type: 'm.room.member', state_key: bob.userId, content: { membership: 'leave' } });
    since = left.next_batch;
    // Events after the leave are not delivered.
    await send(alice, r, 'after-leave');
    const after = await sync(bob, { since });
    expect(after.rooms.leave[r]).toBeUndefined();
    expect(after.rooms.join[r]).toBeUndefined();
  });
});

describe('filters', () => {
  let r1: string;
  let r2: string;

  beforeAll(async () => {
    r1 = await createRoom(alice, { preset: 'public_chat' });
    r2 = await createRoom(alice, { preset: 'public_chat' });
    for (const r of [r1, r2]) {
      await join(carol, r);
      await send(alice, r, 'f1');
      await send(carol, r, 'f2');
    }
  });

  test('a stored filter id and the same filter inline give the same timeline limit', async () => {
    const filter = { room: { timeline: { limit: 1 } } };
    const up = await t.http.post(`${V3}/user/${encodeURIComponent(carol.userId)}/filter`).set(carol.auth).send(filter);
    expect(up.status).toBe(200);
    const stored = await sync(carol, { filter: up.body.filter_id });
    const inline = await sync(carol, { filter: JSON.stringify(filter) });
    for (const body of [stored, inline]) {
      for (const r of [r1, r2]) {
        expect(body.rooms.join[r].timeline.events).toHaveLength(1);
        expect(body.rooms.join[r].timeline.limited).toBe(true);
      }
    }
  });

  test('an unknown filter id is 404; a malformed inline filter is 400', async () => {
    const unknown = await t.http.get(`${V3}/sync`).query({ filter: '987654' }).set(carol.auth);
    expect([unknown.status, unknown.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    const bad = await t.http.get(`${V3}/sync`).query({ filter: '{"room":' }).set(carol.auth);
    expect(bad.status).toBe(400);
  });

  test('timeline types and not_types', async () => {
    const onlyMembers = await sync(carol, { filter: JSON.stringify({ room: { timeline: { types: ['m.room.member'], limit: 50 } } }) });
    const tl: Ev[] = onlyMembers.rooms.join[r1].timeline.events;
    expect(tl.length).toBeGreaterThan(0);
    expect(tl.every((e) => e.type === 'm.room.member')).toBe(true);
    const wildcard = await sync(carol, { filter: JSON.stringify({ room: { timeline: { not_types: ['m.room.*'], limit: 50 } } }) });
    const tl2: Ev[] = wildcard.rooms.join[r1].timeline.events;
    expect(tl2.map((e) => e.type)).toEqual([]);
    const noEnc = await sync(carol, { filter: JSON.stringify({ room: { timeline: { not_types: ['m.room.encrypted'], limit: 50 } } }) });
    const tl3: Ev[] = noEnc.rooms.join[r1].timeline.events;
    expect(tl3.some((e) => e.type === 'm.room.encrypted')).toBe(false);
    expect(tl3.some((e) => e.type === 'm.room.create')).toBe(true);
  });

  test('an incremental timeline whose newest events the filter drops reads further back (no gap, not limited)', async () => {
    const r = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, r);
    const filter = JSON.stringify({ room: { rooms: [r], timeline: { types: ['m.room.encrypted'], limit: 2 } } });
    const since = (await sync(bob, { filter })).next_batch;
    const first = await send(alice, r, 'older');
    const second = await send(alice, r, 'newer');
    for (let i = 0; i < 5; i++) await setState(alice, r, 'm.room.topic', '', { topic: `topic ${i}` });
    const body = await sync(bob, { since, filter });
    const room = body.rooms.join[r];
    expect(room.timeline.events.map((e: Ev) => e.event_id)).toEqual([first, second]);
    expect(room.timeline.limited).toBe(false);
    // With a third message in range, the filter's limit of 2 leaves the oldest out: the timeline is limited.
    const third = await send(alice, r, 'newest');
    const again = await sync(bob, { since, filter });
    expect(again.rooms.join[r].timeline.events.map((e: Ev) => e.event_id)).toEqual([second, third]);
    expect(again.rooms.join[r].timeline.limited).toBe(true);
  });

  test('rooms and not_rooms', async () => {
    const only = await sync(carol, { filter: JSON.stringify({ room: { rooms: [r1] } }) });
    expect(Object.keys(only.rooms.join)).toEqual([r1]);
    const not = await sync(carol, { filter: JSON.stringify({ room: { not_rooms: [r1] } }) });
    expect(not.rooms.join[r1]).toBeUndefined();
    expect(not.rooms.join[r2]).toBeDefined();
  });

  test('lazy_load_members keeps only the members of the timeline senders (and the user) in state', async () => {
    // A named room has no heroes, whose members would come too (test/http/sync-lazy-members.test.ts).
    const r = await createRoom(alice, { preset: 'public_chat', name: 'Lazy' });
    await join(bob, r);
    await join(carol, r);
    // Bob's join and everything before it fall outside a timeline of one event sent by alice.
    await send(alice, r, 'lazy');
    const body = await sync(carol, { filter: JSON.stringify({ room: { rooms: [r], timeline: { limit: 1 }, state: { lazy_load_members: true } } }) });
    const room = body.rooms.join[r];
    expect(room.timeline.events.map((e: Ev) => e.sender)).toEqual([alice.userId]);
    const members = room.state.events.filter((e: Ev) => e.type === 'm.room.member').map((e: Ev) => e.state_key).sort();
    expect(members).toEqual([alice.userId, carol.userId].sort());
    const eager = await sync(carol, { filter: JSON.stringify({ room: { rooms: [r], timeline: { limit: 1 } } }) });
    const all = eager.rooms.join[r].state.events.filter((e: Ev) => e.type === 'm.room.member').map((e: Ev) => e.state_key);
    expect(all).toContain(bob.userId);
  });

  test('account_data types filter the global account data', async () => {
    for (const type of ['org.example.one', 'org.example.two']) {
      const res = await t.http.put(`${V3}/user/${encodeURIComponent(carol.userId)}/account_data/${type}`).set(carol.auth).send({ v: type });
      expect(res.status).toBe(200);
    }
    const body = await sync(carol, { filter: JSON.stringify({ account_data: { types: ['org.example.one'] } }) });
    expect(body.account_data.events).toEqual([{ type: 'org.example.one', content: { v: 'org.example.one' } }]);
    const unfiltered = await sync(carol);
    const types = unfiltered.account_data.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['org.example.one', 'org.example.two', 'm.push_rules']));
  });
});

describe('account data and push rules', () => {
  test('initial sync has m.push_rules; incremental sync has account data and push rules only when changed', async () => {
    const u = await registerUser(t);
    const initial = await sync(u);
    const pr = initial.account_data.events.find((e: { type: string }) => e.type === 'm.push_rules');
    expect(pr.content.global.override.length).toBeGreaterThan(0);
    let since = initial.next_batch;
    expect(isEmptySync(await sync(u, { since }))).toBe(true);

    const put = await t.http.put(`${V3}/user/${encodeURIComponent(u.userId)}/account_data/org.example.x`).set(u.auth).send({ a: 1 });
    expect(put.status).toBe(200);
    const ad = await sync(u, { since });
    expect(ad.account_data.events).toEqual([{ type: 'org.example.x', content: { a: 1 } }]);
    since = ad.next_batch;

    const off = await t.http.put(`${V3}/pushrules/global/override/.m.rule.master/enabled`).set(u.auth).send({ enabled: true });
    expect(off.status).toBe(200);
    const rules = await sync(u, { since });
    expect(rules.account_data.events.map((e: { type: string }) => e.type)).toEqual(['m.push_rules']);
    const master = rules.account_data.events[0].content.global.override.find((r: { rule_id: string }) => r.rule_id === '.m.rule.master');
    expect(master.enabled).toBe(true);
    since = rules.next_batch;
    expect(isEmptySync(await sync(u, { since }))).toBe(true);
  });
});

describe('transaction ids', () => {
  test('unsigned.transaction_id is given to the sending device only', async () => {
    const r = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, r);
    const second = await login(t, alice.userId, alice.password);
    expect(second.status).toBe(200);
    const aliceTwo: TestUser = { ...alice, deviceId: second.body.device_id, accessToken: second.body.access_token, auth: { Authorization: `Bearer ${second.body.access_token}` } };
    const res = await t.http.put(`${V3}/rooms/${enc(r)}/send/m.room.encrypted/my-txn-1`).set(alice.auth).send(megolm('txn'));
    expect(res.status).toBe(200);
    const find = (body: any) => timelineOf(body, r).find((e) => e.event_id === res.body.event_id)!;
    expect(find(await sync(alice)).unsigned?.transaction_id).toBe('my-txn-1');
    expect(find(await sync(aliceTwo)).unsigned?.transaction_id).toBeUndefined();
    expect(find(await sync(bob)).unsigned?.transaction_id).toBeUndefined();
  });
});

describe('long-polling', () => {
  let roomId: string;

  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
  });

  /** Resolves once a long-poll is registered with the notifier (it has read and found nothing new). */
  async function waitForListeners(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (t.hs.notifier.waiting() < n) {
      if (Date.now() > deadline) throw new Error(`no ${n} listeners after 10 s`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  test('a poll with a timeout returns, empty, when nothing happens', async () => {
    const since = (await sync(bob)).next_batch;
    const body = await sync(bob, { since, timeout: 300 });
    expect(isEmptySync(body)).toBe(true);
    expect(body.next_batch).toBe(since);
  });

  test('wakes when an event is sent to a joined room', async () => {
    const since = (await sync(bob)).next_batch;
    const before = t.hs.notifier.waiting();
    const pending = sync(bob, { since, timeout: 20_000 });
    await waitForListeners(before + 1);
    const id = await send(alice, roomId, 'wake');
    const body = await pending;
    expect(ids(timelineOf(body, roomId))).toEqual([id]);
  });

  test('wakes for an invite', async () => {
    const since = (await sync(carol)).next_batch;
    const r = await createRoom(alice, { preset: 'private_chat' });
    const before = t.hs.notifier.waiting();
    const pending = sync(carol, { since, timeout: 20_000 });
    await waitForListeners(before + 1);
    await invite(alice, r, carol);
    const body = await pending;
    expect(Object.keys(body.rooms.invite)).toEqual([r]);
  });

  test("wakes for the user's own account data and push rule changes", async () => {
    let since = (await sync(carol)).next_batch;
    let before = t.hs.notifier.waiting();
    let pending = sync(carol, { since, timeout: 20_000 });
    await waitForListeners(before + 1);
    const put = await t.http.put(`${V3}/user/${encodeURIComponent(carol.userId)}/account_data/org.example.poll`).set(carol.auth).send({ woke: true });
    expect(put.status).toBe(200);
    let res = await pending;
    expect(res.account_data.events).toEqual([{ type: 'org.example.poll', content: { woke: true } }]);

    since = res.next_batch;
    before = t.hs.notifier.waiting();
    pending = sync(carol, { since, timeout: 20_000 });
    await waitForListeners(before + 1);
    const rule = await t.http.put(`${V3}/pushrules/global/override/.m.rule.suppress_notices/enabled`).set(carol.auth).send({ enabled: false });
    expect(rule.status).toBe(200);
    res = await pending;
    expect(res.account_data.events.map((e: { type: string }) => e.type)).toEqual(['m.push_rules']);
  });

  test('does not return early for a write that does not concern the user', async () => {
    const elsewhere = await createRoom(alice, { preset: 'public_chat' });
    const since = (await sync(bob)).next_batch;
    const before = t.hs.notifier.waiting();
    const pending = sync(bob, { since, timeout: 1500 });
    await waitForListeners(before + 1);
    // A message in a room bob is not in, and someone else's account data: neither may end bob's poll.
    await send(alice, elsewhere, 'not-for-bob');
    const put = await t.http.put(`${V3}/user/${encodeURIComponent(alice.userId)}/account_data/org.example.alice`).set(alice.auth).send({ x: 1 });
    expect(put.status).toBe(200);
    const body = await pending;
    expect(isEmptySync(body)).toBe(true);
    // Nothing was skipped either: the next sync from that token still holds nothing for bob.
    expect(isEmptySync(await sync(bob, { since: body.next_batch }))).toBe(true);
  });
});

test('a malformed since token is 400 M_INVALID_PARAM', async () => {
  for (const since of ['garbage', 's', 's-1', '12', 's1x']) {
    const res = await t.http.get(`${V3}/sync`).query({ since }).set(bob.auth);
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  }
});
