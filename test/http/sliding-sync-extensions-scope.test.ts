/**
 * Room account data and receipts of a room that leaves every window and subscription, changes while out, and comes
 * back (issue 16; extensions/scope-changes.ts): through the endpoint, against real PostgreSQL. The room comes back by a
 * bump (its timeline changed), by the client's ranges (its timeline did not change, the request answered by a second
 * server process), by a room subscription, or because the room above it was forgotten (same parameters); each time its new receipt and room account data come once, and not on the
 * next response, and a response that never reached the client (the client comes back with the old pos) carries them
 * again; who is typing comes too. Also: receipts of a room in the window throughout, a room entering the receipts' own
 * scope, and account_data turned off and on again.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startSecondServer, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { expectValidResponseById } from '../support/spec.js';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
let dave: TestUser, bob: TestUser;

beforeAll(async () => ([t, [dave, bob]] = await startWithUsers(['dave', 'bob'])));
afterAll(() => t.close());

const { createRoom, join, send } = roomHelpers(() => t.http);

type Resp = { pos: string; rooms: Record<string, Record<string, any>>; extensions: Record<string, any> };

async function ss(body: Record<string, unknown>, query: Record<string, string | number> = {}, http = t.http): Promise<Resp> {
  const res = await http.post(PATH).query({ timeout: 0, ...query }).set(dave.auth).send(body);
  if (res.status !== 200) throw new Error(`sliding sync: ${res.status} ${JSON.stringify(res.body)}`);
  expectValidResponseById('slidingSyncUnstable', 200, res.body);
  return res.body as Resp;
}

const EXTENSIONS = { receipts: { enabled: true }, account_data: { enabled: true } };
const list = (ranges: [number, number][]) => ({ ranges, timeline_limit: 1, required_state: [['m.room.create', '']] });
const tag = (roomId: string, name: string) =>
  t.http.put(`${V3}/user/${enc(dave.userId)}/rooms/${enc(roomId)}/tags/${enc(name)}`).set(dave.auth).send({ order: 0.5 }).expect(200);
const read = (u: TestUser, roomId: string, eventId: string) => t.http.post(`${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(eventId)}`).set(u.auth).send({}).expect(200);
const receiptOf = (eventId: string, u: TestUser) => ({ type: 'm.receipt', content: { [eventId]: { 'm.read': { [u.userId]: { ts: expect.any(Number) } } } } });
/** The room's part of each room extension. */
const partsOf = (r: Resp, roomId: string) => ({ receipts: r.extensions.receipts.rooms[roomId], accountData: r.extensions.account_data.rooms[roomId] });

/** Two rooms of Dave's and Bob's; the second is the newer. */
async function twoRooms(): Promise<[string, string]> {
  const a = await createRoom(bob, { preset: 'public_chat' });
  await join(dave, a);
  const b = await createRoom(bob, { preset: 'public_chat' });
  await join(dave, b);
  return [a, b];
}

test('a room bumped back into a 1-room window brings the receipt and tag it got while out, once; a lost response carries them again', async () => {
  const [a, b] = await twoRooms();
  const seen = await send(bob, a, 'a');
  const body = { conn_id: 'bump', lists: { top: list([[0, 0]]) }, extensions: EXTENSIONS };
  const first = await ss(body);
  expect(Object.keys(first.rooms)).toEqual([a]);
  // B is bumped into the window: A leaves it.
  await send(bob, b, 'b');
  const second = await ss(body, { pos: first.pos });
  expect(Object.keys(second.rooms)).toEqual([b]);
  // While A is out: Bob reads it, Dave tags it. Nothing of it is sent while out.
  await read(bob, a, seen);
  await tag(a, 'u.work');
  const out = await ss(body, { pos: second.pos });
  expect(partsOf(out, a)).toEqual({ receipts: undefined, accountData: undefined });
  // A is bumped back: its new event, and what changed while out.
  const back = await send(bob, a, 'back');
  const returned = await ss(body, { pos: out.pos });
  expect(returned.rooms[a].initial).toBeUndefined();
  expect(returned.rooms[a].timeline.map((e: { event_id: string }) => e.event_id)).toEqual([back]);
  expect(partsOf(returned, a)).toEqual({ receipts: receiptOf(seen, bob), accountData: [{ type: 'm.tag', content: { tags: { 'u.work': { order: 0.5 } } } }] });
  // That response was lost: the client comes back with the old pos and gets them again.
  const retried = await ss(body, { pos: out.pos });
  expect(partsOf(retried, a)).toEqual(partsOf(returned, a));
  // Not again on the next response.
  const next = await ss(body, { pos: retried.pos });
  expect(next.rooms[a]).toBeUndefined();
  expect(partsOf(next, a)).toEqual({ receipts: undefined, accountData: undefined });
});

test('a room scrolled back into the window without new events gets only its receipt and tag, from another server process too', async () => {
  const [c, d] = await twoRooms();
  const seen = await send(bob, c, 'c');
  await send(bob, d, 'd');
  const both = { conn_id: 'scroll', lists: { top: list([[0, 1]]) }, extensions: EXTENSIONS };
  const one = { ...both, lists: { top: list([[0, 0]]) } };
  const first = await ss(both);
  expect(Object.keys(first.rooms).sort()).toEqual([c, d].sort());
  // The client narrows its window to D: C leaves it.
  const narrowed = await ss(one, { pos: first.pos });
  expect(narrowed.rooms).toEqual({});
  await read(bob, c, seen);
  await tag(c, 'u.later');
  const out = await ss(one, { pos: narrowed.pos });
  expect(partsOf(out, c)).toEqual({ receipts: undefined, accountData: undefined });
  // Widened again, on the other process: C has no new event (no room entry), but its receipt and tag come.
  const second = await startSecondServer(t.database.url);
  try {
    const widened = await ss(both, { pos: out.pos }, second.http);
    expect(widened.rooms[c]).toBeUndefined();
    const parts = { receipts: receiptOf(seen, bob), accountData: [{ type: 'm.tag', content: { tags: { 'u.later': { order: 0.5 } } } }] };
    expect(partsOf(widened, c)).toEqual(parts);
    // Lost: asked again with the old pos (on the first process), they come again; then never again.
    const retried = await ss(both, { pos: out.pos });
    expect(partsOf(retried, c)).toEqual(parts);
    const next = await ss(both, { pos: retried.pos }, second.http);
    expect(partsOf(next, c)).toEqual({ receipts: undefined, accountData: undefined });
  } finally {
    await second.close();
  }
});

test('a receipt alone, a read marker and who is typing reach a room that comes back as a room subscription', async () => {
  const [e, f] = await twoRooms();
  const seen = await send(bob, e, 'e');
  await send(bob, f, 'f');
  const body = { conn_id: 'subscribe', lists: { top: list([[0, 0]]) }, extensions: { ...EXTENSIONS, typing: { enabled: true } } };
  // E is sent through a subscription first, then unsubscribed: it is in no window (F is newer).
  const subscribed = await ss({ ...body, room_subscriptions: { [e]: { timeline_limit: 1, required_state: [] } } });
  expect(Object.keys(subscribed.rooms).sort()).toEqual([e, f].sort());
  const dropped = await ss({ ...body, unsubscribe_rooms: [e] }, { pos: subscribed.pos });
  // While out: Bob's receipt, and Dave's read marker (m.fully_read, room account data) with his own receipt.
  await read(bob, e, seen);
  await t.http.post(`${V3}/rooms/${enc(e)}/read_markers`).set(dave.auth).send({ 'm.fully_read': seen }).expect(200);
  await t.http.put(`${V3}/rooms/${enc(e)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 30_000 }).expect(200);
  const out = await ss(body, { pos: dropped.pos });
  expect(partsOf(out, e)).toEqual({ receipts: undefined, accountData: undefined });
  expect(out.extensions.typing.rooms[e]).toBeUndefined();
  const again = await ss({ ...body, room_subscriptions: { [e]: { timeline_limit: 1, required_state: [] } } }, { pos: out.pos });
  expect(again.rooms[e]).toBeUndefined();
  expect(partsOf(again, e)).toEqual({ receipts: receiptOf(seen, bob), accountData: [{ type: 'm.fully_read', content: { event_id: seen } }] });
  expect(again.extensions.typing.rooms[e]).toEqual({ type: 'm.typing', content: { user_ids: [bob.userId] } });
  const next = await ss(body, { pos: again.pos });
  expect(partsOf(next, e)).toEqual({ receipts: undefined, accountData: undefined });
  expect(next.extensions.typing.rooms[e]).toBeUndefined();
  await t.http.put(`${V3}/rooms/${enc(e)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: false }).expect(200);
});

test('receipts of a room in the window whose timeline did not change, and a room never in the receipts scope gets all of them when it enters', async () => {
  const [g, h] = await twoRooms();
  const seen = await send(bob, g, 'g');
  const body = { conn_id: 'steady', lists: { top: list([[0, 0]]) }, extensions: EXTENSIONS };
  const first = await ss(body);
  expect(Object.keys(first.rooms)).toEqual([g]);
  // In the window throughout: a receipt alone is sent, without the room.
  await read(bob, g, seen);
  const steady = await ss(body, { pos: first.pos });
  expect(steady.rooms).toEqual({});
  expect(partsOf(steady, g).receipts).toEqual(receiptOf(seen, bob));
  expect(partsOf(await ss(body, { pos: steady.pos }), g).receipts).toBeUndefined();
  // H is sent through a subscription the receipts extension does not cover; Bob then reads it (no bump). When the
  // extension covers it, it gets its receipts, though the room is not new to the connection.
  const narrow = { ...body, room_subscriptions: { [h]: { timeline_limit: 1, required_state: [] } }, extensions: { ...EXTENSIONS, receipts: { enabled: true, lists: ['top'], rooms: [] } } };
  const withH = await ss(narrow, { pos: steady.pos });
  expect(withH.rooms[h].initial).toBe(true);
  expect(partsOf(withH, h).receipts).toBeUndefined();
  const last = withH.rooms[h].timeline.at(-1).event_id as string;
  await read(bob, h, last);
  const uncovered = await ss(narrow, { pos: withH.pos });
  expect(partsOf(uncovered, h).receipts).toBeUndefined();
  // (Extension parameters are sticky field by field: the scope is widened by naming it.)
  const covering = await ss({ ...narrow, extensions: { ...EXTENSIONS, receipts: { enabled: true, lists: ['*'], rooms: ['*'] } } }, { pos: uncovered.pos });
  expect(covering.rooms[h]).toBeUndefined();
  expect(partsOf(covering, h).receipts).toEqual(receiptOf(last, bob));
});

test('account_data turned off and on again: a tag set while it was off comes when it is on again', async () => {
  const [k] = await twoRooms();
  await send(bob, k, 'k');
  const on = { conn_id: 'toggle', lists: { top: list([[0, 0]]) }, extensions: { account_data: { enabled: true } } };
  const first = await ss(on);
  expect(Object.keys(first.rooms)).toEqual([k]);
  const off = await ss({ ...on, extensions: { account_data: { enabled: false } } }, { pos: first.pos });
  await tag(k, 'u.off');
  const stillOff = await ss({ ...on, extensions: { account_data: { enabled: false } } }, { pos: off.pos });
  expect(stillOff.extensions.account_data).toBeUndefined();
  const again = await ss(on, { pos: stillOff.pos });
  expect(again.extensions.account_data.rooms[k]).toEqual([{ type: 'm.tag', content: { tags: { 'u.off': { order: 0.5 } } } }]);
  expect(await ss(on, { pos: again.pos }).then((r) => r.extensions.account_data.rooms)).toEqual({});
});

test('a room that moves up into the window when the room above it is forgotten (same parameters, no new event) gets its receipt', async () => {
  const [m, n] = await twoRooms();
  const seen = await send(bob, m, 'm');
  const body = { conn_id: 'forget', lists: { top: list([[0, 0]]) }, extensions: EXTENSIONS };
  const first = await ss(body);
  expect(Object.keys(first.rooms)).toEqual([m]);
  await send(bob, n, 'n');
  const second = await ss(body, { pos: first.pos });
  expect(Object.keys(second.rooms)).toEqual([n]);
  await read(bob, m, seen);
  // Dave leaves N and forgets it: the client sees the leave, then M is first again.
  await t.http.post(`${V3}/rooms/${enc(n)}/leave`).set(dave.auth).send({}).expect(200);
  const left = await ss(body, { pos: second.pos });
  expect(left.rooms[n].timeline.at(-1)).toMatchObject({ type: 'm.room.member', state_key: dave.userId, content: { membership: 'leave' } });
  expect(partsOf(left, m).receipts).toBeUndefined();
  await t.http.post(`${V3}/rooms/${enc(n)}/forget`).set(dave.auth).send({}).expect(200);
  const back = await ss(body, { pos: left.pos });
  expect(back.rooms).toEqual({});
  expect(partsOf(back, m).receipts).toEqual(receiptOf(seen, bob));
  expect(partsOf(await ss(body, { pos: back.pos }), m).receipts).toBeUndefined();
});
