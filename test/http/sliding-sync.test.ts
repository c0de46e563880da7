/**
 * Simplified sliding sync (MSC4186, unstable path) over HTTP: lists (ranges, count, bump order, filters), room data
 * (initial, timeline, limited, num_live, prev_batch with /messages, incremental required_state, lazy members, counts,
 * heroes), room subscriptions, invites, knocks and leaves, the connection state (sticky parameters, a retried pos, an
 * unknown or replaced pos: M_UNKNOWN_POS), long-polls, and a second server process answering the next request.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startWithUsers, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3, type Agent } from '../support/rooms.js';
import { expectValidResponseById, expectMatrixError } from '../support/spec.js';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(2)));
afterAll(() => t.close());

const { createRoom, join, invite, leave, send, setState } = roomHelpers(() => t.http);

type Room = Record<string, any>;
type Resp = { pos: string; lists: Record<string, { count: number }>; rooms: Record<string, Room>; extensions: Record<string, unknown> };

/** 400 M_UNKNOWN_POS, the error body checked against the schemas. */
function expectUnknownPos(res: { status: number; body: unknown }): void {
  expect(res.status).toBe(400);
  expectMatrixError(res.body, 'M_UNKNOWN_POS');
}

async function ss(u: TestUser, body: Record<string, unknown>, query: Record<string, string | number> = {}, http: Agent = t.http): Promise<Resp> {
  const res = await http.post(PATH).query(query).set(u.auth).send(body);
  if (res.status !== 200) throw new Error(`sliding sync: ${res.status} ${JSON.stringify(res.body)}`);
  expectValidResponseById('slidingSyncUnstable', 200, res.body);
  return res.body as Resp;
}

const list = (ranges: [number, number][], extra: Record<string, unknown> = {}) => ({ ranges, timeline_limit: 1, required_state: [['m.room.create', '']], ...extra });
const ids = (events: { event_id: string }[] | undefined) => (events ?? []).map((e) => e.event_id);
/** The generation a pos names (`<connection>.<generation>.<stream>.<typing>`). */
const gen = (pos: string) => Number(pos.split('.')[1]);

/** A fresh user with `n` rooms, created oldest first; the rooms newest first (the list's order). */
async function userWithRooms(n: number): Promise<[TestUser, string[]]> {
  const u = await registerUser(t);
  const rooms: string[] = [];
  for (let i = 0; i < n; i++) rooms.unshift(await createRoom(u, { name: `room ${i}` }));
  return [u, rooms];
}

describe('discovery', () => {
  test('/versions advertises org.matrix.simplified_msc3575', async () => {
    const res = await t.http.get('/_matrix/client/versions');
    expect(res.body.unstable_features['org.matrix.simplified_msc3575']).toBe(true);
  });
});

describe('lists', () => {
  test('a window of the list ordered by recency, with its count; initial room data', async () => {
    const [u, rooms] = await userWithRooms(3);
    const first = await ss(u, { lists: { all: list([[0, 1]], { timeline_limit: 2, required_state: [['m.room.create', ''], ['m.room.name', '']] }) } });
    expect(first.lists.all.count).toBe(3);
    expect(Object.keys(first.rooms).sort()).toEqual(rooms.slice(0, 2).sort());
    const r = first.rooms[rooms[0]];
    expect(r.initial).toBe(true);
    expect(r.name).toBe('room 2');
    // A named room: no heroes.
    expect(r.heroes).toBeUndefined();
    expect(r.timeline).toHaveLength(2);
    expect(r.limited).toBe(true);
    expect(r.num_live).toBe(0);
    expect(r.required_state.map((e: Room) => e.type).sort()).toEqual(['m.room.create', 'm.room.name']);
    expect(r.joined_count).toBe(1);
    expect(r.invited_count).toBe(0);
    expect(r.notification_count).toBe(0);
    expect(typeof r.bump_stamp).toBe('number');
    expect(first.rooms[rooms[0]].bump_stamp).toBeGreaterThan(first.rooms[rooms[1]].bump_stamp);
  });

  test('a bumped room enters the window; an incremental room carries only the new events', async () => {
    const [u, rooms] = await userWithRooms(3);
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 3 }) } };
    const first = await ss(u, body);
    expect(Object.keys(first.rooms)).toEqual([rooms[0]]);
    // The oldest room gets a message: it moves to the top, new to the connection.
    const e1 = await send(u, rooms[2], 'bump');
    const second = await ss(u, body, { pos: first.pos });
    expect(Object.keys(second.rooms)).toEqual([rooms[2]]);
    expect(second.rooms[rooms[2]].initial).toBe(true);
    expect(ids(second.rooms[rooms[2]].timeline).at(-1)).toBe(e1);
    expect(second.rooms[rooms[2]].num_live).toBe(1);
    // Another message in it: incremental, just that event.
    const e2 = await send(u, rooms[2], 'again');
    const third = await ss(u, body, { pos: second.pos });
    const r = third.rooms[rooms[2]];
    expect(r.initial).toBeUndefined();
    expect(ids(r.timeline)).toEqual([e2]);
    expect(r.limited).toBe(false);
    expect(r.num_live).toBe(1);
    expect(r.bump_stamp).toBeGreaterThan(second.rooms[rooms[2]].bump_stamp);
    // A state event that does not bump: the room is sent, the order stays.
    await setState(u, rooms[2], 'm.room.topic', '', { topic: 't' });
    const fourth = await ss(u, body, { pos: third.pos });
    expect(fourth.rooms[rooms[2]].bump_stamp).toBe(r.bump_stamp);
  });

  test('filters: is_invite, is_dm (m.direct), room_types / not_room_types, is_encrypted', async () => {
    const u = await registerUser(t);
    const plain = await createRoom(u, {});
    const space = await createRoom(u, { creation_content: { type: 'm.space' } });
    const dm = await createRoom(u, { is_direct: true });
    await t.http.put(`${V3}/user/${enc(u.userId)}/account_data/m.direct`).set(u.auth).send({ [bob.userId]: [dm] });
    const other = await createRoom(bob, {});
    await invite(bob, other, u);
    const lists = {
      invites: list([[0, 9]], { filters: { is_invite: true } }),
      dms: list([[0, 9]], { filters: { is_dm: true } }),
      spaces: list([[0, 9]], { filters: { room_types: ['m.space'] } }),
      rooms: list([[0, 9]], { filters: { not_room_types: ['m.space'], is_invite: false } }),
      encrypted: list([[0, 9]], { filters: { is_encrypted: true } }),
    };
    const res = await ss(u, { lists });
    expect(res.lists).toEqual({ invites: { count: 1 }, dms: { count: 1 }, spaces: { count: 1 }, rooms: { count: 2 }, encrypted: { count: 4 } });
    expect(res.rooms[dm].is_dm).toBe(true);
    expect(res.rooms[plain].is_dm).toBeUndefined();
    expect(res.rooms[space]).toBeDefined();
    expect(res.rooms[other].invite_state.map((e: Room) => e.type)).toContain('m.room.member');
  });
});

describe('room data', () => {
  test('required_state is incremental: only what changed since the last response of the connection', async () => {
    const u = await registerUser(t);
    const room = await createRoom(u, { name: 'before' });
    const body = { lists: { all: list([[0, 9]], { required_state: [['m.room.name', ''], ['m.room.topic', '']] }) } };
    const first = await ss(u, body);
    expect(first.rooms[room].required_state.map((e: Room) => e.content.name)).toEqual(['before']);
    await setState(u, room, 'm.room.topic', '', { topic: 'new topic' });
    const second = await ss(u, body, { pos: first.pos });
    expect(second.rooms[room].required_state.map((e: Room) => e.type)).toEqual(['m.room.topic']);
    expect(second.rooms[room].name).toBeUndefined();
    await setState(u, room, 'm.room.name', '', { name: 'after' });
    const third = await ss(u, body, { pos: second.pos });
    expect(third.rooms[room].required_state.map((e: Room) => e.type)).toEqual(['m.room.name']);
    expect(third.rooms[room].name).toBe('after');
    // A state event the config does not ask for: the room is sent (a timeline event), without required_state.
    await setState(u, room, 'm.room.history_visibility', '', { history_visibility: 'joined' });
    const fourth = await ss(u, body, { pos: third.pos });
    expect(fourth.rooms[room].required_state).toBeUndefined();
    // Expanding required_state sends what the new entry matches at once.
    const wider = { lists: { all: list([[0, 9]], { required_state: [['m.room.name', ''], ['m.room.topic', ''], ['m.room.history_visibility', '']] }) } };
    const fifth = await ss(u, wider, { pos: fourth.pos });
    expect(fifth.rooms[room].required_state.map((e: Room) => e.type)).toEqual(['m.room.history_visibility']);
  });

  test('$LAZY members: the timeline senders, each once per connection; $ME; heroes without a name', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, room);
    await send(bob, room, 'hi');
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 1, required_state: [['m.room.member', '$LAZY'], ['m.room.member', '$ME']] }) } };
    const first = await ss(alice, body);
    const r = first.rooms[room];
    expect(r.required_state.map((e: Room) => e.state_key).sort()).toEqual([alice.userId, bob.userId].sort());
    expect(r.heroes.map((h: Room) => h.user_id)).toEqual([bob.userId]);
    expect(r.joined_count).toBe(2);
    await send(bob, room, 'again');
    const second = await ss(alice, body, { pos: first.pos });
    expect(second.rooms[room].required_state).toBeUndefined();
  });

  test('prev_batch pages back with /messages; a sender sees its transaction id', async () => {
    const u = await registerUser(t);
    const room = await createRoom(u, {});
    const sent = [await send(u, room, 1), await send(u, room, 2), await send(u, room, 3)];
    const res = await ss(u, { lists: { all: list([[0, 0]], { timeline_limit: 1 }) } });
    const r = res.rooms[room];
    expect(ids(r.timeline)).toEqual([sent[2]]);
    expect(r.timeline[0].unsigned.transaction_id).toBeDefined();
    const page = await t.http.get(`${V3}/rooms/${enc(room)}/messages`).query({ from: r.prev_batch, dir: 'b', limit: 2 }).set(u.auth);
    expect(page.status).toBe(200);
    expect(ids(page.body.chunk)).toEqual([sent[1], sent[0]]);
  });

  test('notification counts come from the stored notifications', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, room);
    await send(alice, room, 'a');
    await send(alice, room, 'b');
    const res = await ss(bob, { room_subscriptions: { [room]: { timeline_limit: 0, required_state: [] } } });
    expect(res.rooms[room].notification_count).toBe(2);
    expect(res.rooms[room].highlight_count).toBe(0);
  });
});

describe('subscriptions, invites and leaves', () => {
  test('a subscribed room outside every window is sent; subscriptions are sticky until unsubscribed', async () => {
    const [u, rooms] = await userWithRooms(3);
    const first = await ss(u, { lists: { all: list([[0, 0]]) }, room_subscriptions: { [rooms[2]]: { timeline_limit: 1, required_state: [] } } });
    expect(Object.keys(first.rooms).sort()).toEqual([rooms[0], rooms[2]].sort());
    await send(u, rooms[1], 'x');
    const e = await send(u, rooms[2], 'y');
    // rooms[2] is now first, rooms[1] second: the window holds rooms[2]; the subscription stays.
    const second = await ss(u, { lists: { all: list([[0, 0]]) } }, { pos: first.pos });
    expect(ids(second.rooms[rooms[2]].timeline)).toEqual([e]);
    // A room the user is not in is ignored.
    const foreign = await createRoom(bob, {});
    const third = await ss(u, { room_subscriptions: { [foreign]: { timeline_limit: 1 } }, unsubscribe_rooms: [rooms[2]] }, { pos: second.pos });
    expect(third.rooms[foreign]).toBeUndefined();
    await send(u, rooms[2], 'z');
    const fourth = await ss(u, { lists: { all: list([[1, 1]]) } }, { pos: third.pos });
    expect(fourth.rooms[rooms[2]]).toBeUndefined();
  });

  test('an invite carries invite_state; accepting it sends the room as initial; a leave sends the leave', async () => {
    const u = await registerUser(t);
    const room = await createRoom(alice, { name: 'invited here' });
    const body = { lists: { all: list([[0, 9]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    expect(first.rooms[room]).toBeUndefined();
    await invite(alice, room, u);
    const second = await ss(u, body, { pos: first.pos, timeout: 5000 });
    const inv = second.rooms[room];
    expect(inv.initial).toBe(true);
    expect(inv.timeline).toBeUndefined();
    expect(inv.invite_state.find((e: Room) => e.type === 'm.room.name').content.name).toBe('invited here');
    expect(inv.invite_state.find((e: Room) => e.type === 'm.room.member' && e.state_key === u.userId).content.membership).toBe('invite');
    await join(u, room);
    const third = await ss(u, body, { pos: second.pos });
    expect(third.rooms[room].initial).toBe(true);
    expect(third.rooms[room].name).toBe('invited here');
    await leave(u, room);
    const fourth = await ss(u, body, { pos: third.pos });
    const left = fourth.rooms[room];
    expect(left.timeline.at(-1)).toMatchObject({ type: 'm.room.member', state_key: u.userId, content: { membership: 'leave' } });
    // Once sent, the user's own leave drops the room from the list.
    const fifth = await ss(u, body, { pos: fourth.pos });
    expect(fifth.lists.all.count).toBe(0);
    expect(fifth.rooms[room]).toBeUndefined();
  });

  test('a knock is in the list with its stripped state under invite_state; an accepted knock is an invite, then a join', async () => {
    const u = await registerUser(t);
    const room = await createRoom(alice, { name: 'knock here', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
    const body = { lists: { all: list([[0, 9]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    expect(first.lists.all.count).toBe(0);
    const knocked = await t.http.post(`${V3}/knock/${encodeURIComponent(room)}`).set(u.auth).send({ reason: 'let me in' });
    expect(knocked.status).toBe(200);
    const second = await ss(u, body, { pos: first.pos, timeout: 5000 });
    expect(second.lists.all.count).toBe(1);
    const k = second.rooms[room];
    expect(k.initial).toBe(true);
    // A knocker sees no timeline and no room state beyond the stripped state (the room's history is not theirs).
    expect(k.timeline).toBeUndefined();
    expect(k.required_state).toBeUndefined();
    expect(k.invite_state.find((e: Room) => e.type === 'm.room.join_rules').content.join_rule).toBe('knock');
    expect(k.invite_state.find((e: Room) => e.type === 'm.room.name').content.name).toBe('knock here');
    expect(k.invite_state.find((e: Room) => e.type === 'm.room.member' && e.state_key === u.userId).content.membership).toBe('knock');
    // is_invite lists leave knocks out (they are not invites).
    const invites = await ss(u, { conn_id: 'invites', lists: { inv: list([[0, 9]], { filters: { is_invite: true } }) } });
    expect(invites.lists.inv.count).toBe(0);

    await invite(alice, room, u);
    const third = await ss(u, body, { pos: second.pos, timeout: 5000 });
    expect(third.rooms[room].invite_state.find((e: Room) => e.type === 'm.room.member' && e.state_key === u.userId).content.membership).toBe('invite');
    await join(u, room);
    const fourth = await ss(u, body, { pos: third.pos, timeout: 5000 });
    expect(fourth.rooms[room].initial).toBe(true);
    expect(fourth.rooms[room].name).toBe('knock here');
    expect(fourth.rooms[room].invite_state).toBeUndefined();
  });
});

describe('the connection', () => {
  test('an unknown, malformed or replaced pos is 400 M_UNKNOWN_POS', async () => {
    const u = await registerUser(t);
    for (const pos of ['nonsense', '999999.1.1.0']) {
      const res = await t.http.post(PATH).query({ pos }).set(u.auth).send({});
      expectUnknownPos(res);
    }
    const first = await ss(u, { conn_id: 'main', lists: { all: list([[0, 0]]) } });
    // Another device's or another conn_id's request with this pos: unknown.
    expectUnknownPos(await t.http.post(PATH).query({ pos: first.pos }).set(u.auth).send({ conn_id: 'other' }));
    expectUnknownPos(await t.http.post(PATH).query({ pos: first.pos }).set(alice.auth).send({ conn_id: 'main' }));
    // A new connection with the same conn_id replaces it.
    await ss(u, { conn_id: 'main' });
    expectUnknownPos(await t.http.post(PATH).query({ pos: first.pos }).set(u.auth).send({ conn_id: 'main' }));
  });

  test('a pos used again (its response was lost) gets the same data again; an older pos after a newer one is unknown', async () => {
    const [u, rooms] = await userWithRooms(1);
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    const e = await send(u, rooms[0], 'lost');
    const lost = await ss(u, body, { pos: first.pos });
    expect(ids(lost.rooms[rooms[0]].timeline)).toEqual([e]);
    // The client never processed that response: it asks again with the same pos and gets the event again.
    const again = await ss(u, body, { pos: first.pos });
    expect(ids(again.rooms[rooms[0]].timeline)).toEqual([e]);
    const next = await ss(u, body, { pos: again.pos });
    expect(next.rooms).toEqual({});
    // Those responses only advanced a timeline: they kept the generation, so the first pos is still the client's to
    // use (it says it holds less, and gets the event again). Once a later generation is acknowledged it is unknown.
    const newer = await ss(u, { lists: { ...body.lists, other: list([[0, 0]]) } }, { pos: next.pos });
    expect(gen(newer.pos)).toBeGreaterThan(gen(next.pos));
    await ss(u, {}, { pos: newer.pos });
    const res = await t.http.post(PATH).query({ pos: first.pos }).set(u.auth).send(body);
    expectUnknownPos(res);
  });

  test('a response that only advances timelines keeps the generation; a room that left the window and came back gets what happened while it was out', async () => {
    const [u, [a, b, c]] = await userWithRooms(3);
    const body = { lists: { all: list([[0, 1]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    expect(Object.keys(first.rooms).sort()).toEqual([a, b].sort());
    const a1 = await send(u, a, 'a1');
    const second = await ss(u, body, { pos: first.pos });
    expect(ids(second.rooms[a].timeline)).toEqual([a1]);
    expect(gen(second.pos)).toBe(gen(first.pos));
    // An event in a that does not bump it, then b and c are bumped: the window holds c (new: a new generation) and b;
    // a leaves it before its event was sent.
    const early = await setState(u, a, 'm.room.topic', '', { topic: 'early' });
    const b1 = await send(u, b, 'b1');
    await send(u, c, 'c1');
    const third = await ss(u, body, { pos: second.pos });
    expect(Object.keys(third.rooms).sort()).toEqual([b, c].sort());
    expect(ids(third.rooms[b].timeline)).toEqual([b1]);
    expect(gen(third.pos)).toBeGreaterThan(gen(second.pos));
    // While a is out of the window: an event in it that does not bump, and responses that do not cover it.
    const topic = await setState(u, a, 'm.room.topic', '', { topic: 'while out' });
    const b2 = await send(u, b, 'b2');
    const fourth = await ss(u, body, { pos: third.pos });
    expect(Object.keys(fourth.rooms)).toEqual([b]);
    expect(ids(fourth.rooms[b].timeline)).toEqual([b2]);
    const c2 = await send(u, c, 'c2');
    const fifth = await ss(u, body, { pos: fourth.pos });
    expect(ids(fifth.rooms[c].timeline)).toEqual([c2]);
    // a comes back: what happened in it while it was out is sent, and nothing it was sent before.
    const a2 = await send(u, a, 'a2');
    const back = await ss(u, body, { pos: fifth.pos });
    expect(ids(back.rooms[a].timeline)).toEqual([early, topic, a2]);
    expect(back.rooms[a].initial).toBeUndefined();
    // And once more through a response lost in transit: the pos before it gets the same again.
    const again = await ss(u, body, { pos: fifth.pos });
    expect(ids(again.rooms[a].timeline)).toEqual([early, topic, a2]);
  });

  test('lists are sticky: a request without lists keeps them', async () => {
    const [u, rooms] = await userWithRooms(2);
    const first = await ss(u, { lists: { all: list([[0, 9]]) } });
    expect(first.lists.all.count).toBe(2);
    await send(u, rooms[1], 'x');
    const second = await ss(u, {}, { pos: first.pos });
    expect(second.lists.all.count).toBe(2);
    expect(Object.keys(second.rooms)).toEqual([rooms[1]]);
  });
});

describe('long-poll', () => {
  test('waits for a new event and answers with it; times out with nothing', async () => {
    const [u, rooms] = await userWithRooms(1);
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    const started = Date.now();
    const empty = await ss(u, body, { pos: first.pos, timeout: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(empty.rooms).toEqual({});
    const waiting = ss(u, body, { pos: empty.pos, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    const e = await send(u, rooms[0], 'wake');
    const res = await waiting;
    expect(ids(res.rooms[rooms[0]].timeline)).toEqual([e]);
  });
});

describe('two server processes', () => {
  let b: SecondServer;
  beforeAll(async () => {
    b = await startSecondServer(t.database.url);
  });
  afterAll(() => b.close());

  test('a pos from one process is answered by the other, and a write through one wakes a long-poll on the other', async () => {
    const [u, rooms] = await userWithRooms(2);
    const body = { lists: { all: list([[0, 9]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    const e = await send(u, rooms[1], 'throughA');
    const second = await ss(u, body, { pos: first.pos }, b.http);
    expect(ids(second.rooms[rooms[1]].timeline)).toEqual([e]);
    const waiting = ss(u, body, { pos: second.pos, timeout: 10_000 }, b.http);
    await new Promise((r) => setTimeout(r, 300));
    const e2 = await send(u, rooms[0], 'wakesB');
    const third = await waiting;
    expect(ids(third.rooms[rooms[0]].timeline)).toEqual([e2]);
    const fourth = await ss(u, body, { pos: third.pos });
    expect(fourth.rooms).toEqual({});
  });
});

describe('extensions through the endpoint', () => {
  test('sticky extension settings; a to-device message ends a long-poll; e2ee key counts', async () => {
    const u = await registerUser(t);
    const first = await ss(u, { extensions: { to_device: { enabled: true }, e2ee: { enabled: true } } });
    expect(first.extensions.e2ee).toBeDefined();
    const nextBatch = (first.extensions.to_device as { next_batch: string }).next_batch;
    const waiting = ss(u, { extensions: { to_device: { since: nextBatch } } }, { pos: first.pos, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    const olm = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body: 'aGVsbG8' } } };
    const sent = await t.http.put(`${V3}/sendToDevice/m.room.encrypted/ss1`).set(bob.auth).send({ messages: { [u.userId]: { [u.deviceId]: olm } } });
    expect([sent.status, sent.body]).toEqual([200, {}]);
    const res = await waiting;
    const toDevice = res.extensions.to_device as { events: { sender: string; content: unknown }[] };
    expect(toDevice.events).toEqual([{ sender: bob.userId, type: 'm.room.encrypted', content: olm }]);
    expect(res.extensions.e2ee).toBeDefined();
  });
});

describe('more of the room config', () => {
  test('a larger timeline_limit sends the latest events again at once (unstable_expanded_timeline)', async () => {
    const u = await registerUser(t);
    const room = await createRoom(u, {});
    const sent = [await send(u, room, 1), await send(u, room, 2), await send(u, room, 3)];
    const first = await ss(u, { lists: { all: list([[0, 0]], { timeline_limit: 1 }) } });
    expect(ids(first.rooms[room].timeline)).toEqual([sent[2]]);
    // The client opens the room: a subscription with a larger limit, answered at once (no timeout).
    const second = await ss(u, { room_subscriptions: { [room]: { timeline_limit: 3, required_state: [] } } }, { pos: first.pos, timeout: 10_000 });
    const r = second.rooms[room];
    expect(r.initial).toBeUndefined();
    expect(r.unstable_expanded_timeline).toBe(true);
    expect(ids(r.timeline)).toEqual(sent);
    expect(r.num_live).toBe(0);
    // Nothing new after that.
    const third = await ss(u, {}, { pos: second.pos });
    expect(third.rooms).toEqual({});
  });

  test('["*", "*"] with $LAZY: every state event, members only of the timeline', async () => {
    const room = await createRoom(alice, { preset: 'public_chat', name: 'star' });
    await join(bob, room);
    const carol = await registerUser(t);
    await join(carol, room);
    await send(bob, room, 'fromBob');
    const res = await ss(alice, { room_subscriptions: { [room]: { timeline_limit: 1, required_state: [['*', '*'], ['m.room.member', '$LAZY']] } } });
    const state = res.rooms[room].required_state as Room[];
    expect(state.map((e) => e.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.name']));
    expect(state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key)).toEqual([bob.userId]);
    // Without $LAZY: every member.
    const all = await ss(alice, { room_subscriptions: { [room]: { timeline_limit: 1, required_state: [['*', '*']] } } });
    expect((all.rooms[room].required_state as Room[]).filter((e) => e.type === 'm.room.member')).toHaveLength(3);
  });

  test('spaces and tags filters', async () => {
    const u = await registerUser(t);
    const space = await createRoom(u, { creation_content: { type: 'm.space' } });
    const child = await createRoom(u, {});
    const other = await createRoom(u, {});
    await setState(u, space, 'm.space.child', child, { via: ['test.local'] });
    await t.http.put(`${V3}/user/${enc(u.userId)}/rooms/${enc(other)}/tags/m.favourite`).set(u.auth).send({ order: 0.5 });
    const res = await ss(u, {
      lists: {
        inSpace: list([[0, 9]], { filters: { spaces: [space] } }),
        favourites: list([[0, 9]], { filters: { tags: ['m.favourite'] } }),
        notFavourites: list([[0, 9]], { filters: { not_tags: ['m.favourite'] } }),
      },
    });
    expect(res.lists).toEqual({ inSpace: { count: 1 }, favourites: { count: 1 }, notFavourites: { count: 2 } });
    expect(Object.keys(res.rooms).sort()).toEqual([space, child, other].sort());
  });

  test('a kicked user sees the room (with the kick) on a new connection; a banned one too', async () => {
    const u = await registerUser(t);
    const kicked = await createRoom(alice, { preset: 'public_chat' });
    const banned = await createRoom(alice, { preset: 'public_chat' });
    const left = await createRoom(alice, { preset: 'public_chat' });
    for (const r of [kicked, banned, left]) await join(u, r);
    await t.http.post(`${V3}/rooms/${enc(kicked)}/kick`).set(alice.auth).send({ user_id: u.userId });
    await t.http.post(`${V3}/rooms/${enc(banned)}/ban`).set(alice.auth).send({ user_id: u.userId });
    await leave(u, left);
    const res = await ss(u, { lists: { all: list([[0, 9]], { timeline_limit: 1 }) } });
    expect(res.lists.all.count).toBe(2);
    expect(res.rooms[kicked].timeline.at(-1)).toMatchObject({ type: 'm.room.member', state_key: u.userId, content: { membership: 'leave' } });
    expect(res.rooms[banned].timeline.at(-1)).toMatchObject({ type: 'm.room.member', state_key: u.userId, content: { membership: 'ban' } });
    expect(res.rooms[left]).toBeUndefined();
  });
});

describe('refusals and bounds', () => {
  test('a malformed body is 400 M_BAD_JSON, a bad timeout 400 M_INVALID_PARAM; nothing is stored', async () => {
    const u = await registerUser(t);
    for (const body of [{ lists: { a: { ranges: [[0]] } } }, { lists: { a: { required_state: [['only-one']] } } }, { room_subscriptions: [] }, { conn_id: 5 }]) {
      const res = await t.http.post(PATH).set(u.auth).send(body);
      expect(res.status).toBe(400);
      expectMatrixError(res.body, 'M_BAD_JSON');
    }
    const res = await t.http.post(PATH).query({ timeout: 'soon' }).set(u.auth).send({});
    expect(res.status).toBe(400);
    expectMatrixError(res.body, 'M_INVALID_PARAM');
    const [{ n }] = await t.hs.sql`SELECT count(*)::int AS n FROM sliding_sync_connections WHERE user_id = ${u.userId}`;
    expect(n).toBe(0);
  });

  test('a device keeps at most 10 connections: the least recently used goes, its pos is unknown', async () => {
    const u = await registerUser(t);
    const first = await ss(u, { conn_id: 'c0' });
    for (let i = 1; i <= 10; i++) await ss(u, { conn_id: `c${i}` });
    const [{ n }] = await t.hs.sql`SELECT count(*)::int AS n FROM sliding_sync_connections WHERE user_id = ${u.userId}`;
    expect(n).toBe(10);
    expectUnknownPos(await t.http.post(PATH).query({ pos: first.pos }).set(u.auth).send({ conn_id: 'c0' }));
  });

  test('a connection keeps at most two generations of a room however often it syncs', async () => {
    const [u, rooms] = await userWithRooms(1);
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 1 }) } };
    let res = await ss(u, body);
    for (let i = 0; i < 5; i++) {
      await send(u, rooms[0], `n${i}`);
      res = await ss(u, body, { pos: res.pos });
    }
    const [{ rows, positions }] = await t.hs.sql`
      SELECT (SELECT count(*)::int FROM sliding_sync_rooms r JOIN sliding_sync_connections c USING (connection_id) WHERE c.user_id = ${u.userId}) AS rows,
             (SELECT count(*)::int FROM sliding_sync_positions p JOIN sliding_sync_connections c USING (connection_id) WHERE c.user_id = ${u.userId}) AS positions`;
    expect(rows).toBeLessThanOrEqual(2);
    expect(positions).toBeLessThanOrEqual(2);
  });
});

describe('a client away for a while (tuwunel#190, element-web#29621)', () => {
  test('messages sent while the client was away arrive limited, and prev_batch reaches the ones left out', async () => {
    const [u, rooms] = await userWithRooms(2);
    const body = { lists: { all: list([[0, 0]], { timeline_limit: 2 }) } };
    const first = await ss(u, body);
    expect(Object.keys(first.rooms)).toEqual([rooms[0]]);
    // While away: five messages in the room outside the window; a response built meanwhile is lost in transit.
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push(await send(u, rooms[1], `away${i}`));
    await ss(u, body, { pos: first.pos });
    // Back with the pos it last processed: the room comes in limited with the newest two, nothing is skipped.
    const back = await ss(u, body, { pos: first.pos });
    const r = back.rooms[rooms[1]];
    expect(ids(r.timeline)).toEqual(missed.slice(3));
    expect(r.limited).toBe(true);
    expect(r.num_live).toBe(2);
    const page = await t.http.get(`${V3}/rooms/${enc(rooms[1])}/messages`).query({ from: r.prev_batch, dir: 'b', limit: 3 }).set(u.auth);
    expect(ids(page.body.chunk)).toEqual([missed[2], missed[1], missed[0]]);
  });
});

describe('history visibility', () => {
  test('a user who left and came back does not get the events of while away (history_visibility joined)', async () => {
    const u = await registerUser(t);
    const room = await createRoom(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
    await join(u, room);
    const body = { room_subscriptions: { [room]: { timeline_limit: 10, required_state: [] } } };
    const first = await ss(u, body);
    await leave(u, room);
    const second = await ss(u, body, { pos: first.pos });
    expect(second.rooms[room].timeline.at(-1)).toMatchObject({ type: 'm.room.member', content: { membership: 'leave' } });
    const secret = await send(alice, room, 'whileAway');
    await join(u, room);
    const after = await send(alice, room, 'afterReturn');
    const third = await ss(u, body, { pos: second.pos });
    const seen = ids(third.rooms[room].timeline);
    expect(seen).not.toContain(secret);
    expect(seen).toContain(after);
  });

  test('also when the leave and the return both fall between two responses', async () => {
    const u = await registerUser(t);
    const room = await createRoom(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] });
    await join(u, room);
    const body = { room_subscriptions: { [room]: { timeline_limit: 10, required_state: [] } } };
    const first = await ss(u, body);
    await leave(u, room);
    const secret = await send(alice, room, 'whileAway');
    await join(u, room);
    const after = await send(alice, room, 'afterReturn');
    const second = await ss(u, body, { pos: first.pos });
    const seen = ids(second.rooms[room].timeline);
    expect(seen).not.toContain(secret);
    expect(seen).toContain(after);
  });
});

describe('ignored users', () => {
  test('their messages are left out of timelines and their invites are not sent', async () => {
    const u = await registerUser(t);
    const pest = await registerUser(t);
    const room = await createRoom(u, { preset: 'public_chat' });
    await join(pest, room);
    await t.http.put(`${V3}/user/${enc(u.userId)}/account_data/m.ignored_user_list`).set(u.auth).send({ ignored_users: { [pest.userId]: {} } });
    const body = { lists: { all: list([[0, 9]], { timeline_limit: 5 }) } };
    const first = await ss(u, body);
    const hidden = await send(pest, room, 'noise');
    const shown = await send(u, room, 'mine');
    const other = await createRoom(pest, {});
    await invite(pest, other, u);
    const second = await ss(u, body, { pos: first.pos });
    expect(ids(second.rooms[room].timeline)).toEqual([shown]);
    expect(ids(second.rooms[room].timeline)).not.toContain(hidden);
    expect(second.rooms[other]).toBeUndefined();
  });
});
