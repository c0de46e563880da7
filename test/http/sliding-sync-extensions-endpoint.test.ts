/**
 * The sliding-sync extensions through the endpoint (POST .../org.matrix.simplified_msc3575/sync), each response checked
 * against openapi.yaml: to_device with its own since (a lost response is delivered again; a later since deletes),
 * e2ee (key counts on a new connection, device lists since pos), account_data, receipts and typing scoped by
 * lists and subscriptions (a room entering the window gets its room account data), wakes of a waiting long-poll by
 * each extension's change, and hostile extension parameters (400, never 500).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys, oneTimeKeys } from '../support/device-keys.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(2)));
afterAll(() => t.close());

const { createRoom, join, send } = roomHelpers(() => t.http);

type Resp = { pos: string; lists: Record<string, { count: number }>; rooms: Record<string, Record<string, any>>; extensions: Record<string, any> };

async function ss(u: TestUser, body: Record<string, unknown>, query: Record<string, string | number> = {}): Promise<Resp> {
  const res = await t.http.post(PATH).query(query).set(u.auth).send(body);
  if (res.status !== 200) throw new Error(`sliding sync: ${res.status} ${JSON.stringify(res.body)}`);
  expectValidResponseById('slidingSyncUnstable', 200, res.body);
  return res.body as Resp;
}

const olm = (body: string) => ({ algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body } } });
const toAlice = (txn: string, body: string) => t.http.put(`${V3}/sendToDevice/m.room.encrypted/${txn}`).set(bob.auth).send({ messages: { [alice.userId]: { [alice.deviceId]: olm(body) } } }).expect(200);
const bodies = (r: Resp) => r.extensions.to_device.events.map((e: { content: ReturnType<typeof olm> }) => e.content.ciphertext.KEY.body);
const inbox = async (u: TestUser) => (await t.hs.sql`SELECT count(*)::int AS n FROM to_device_inbox WHERE user_id = ${u.userId} AND device_id = ${u.deviceId}`)[0].n as number;
const list = (ranges: [number, number][]) => ({ ranges, timeline_limit: 1, required_state: [['m.room.create', '']] });
const putRoomData = (u: TestUser, roomId: string, type: string, content: Record<string, unknown>) =>
  t.http.put(`${V3}/user/${enc(u.userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`).set(u.auth).send(content).expect(200);
const putGlobal = (u: TestUser, type: string, content: Record<string, unknown>) => t.http.put(`${V3}/user/${enc(u.userId)}/account_data/${enc(type)}`).set(u.auth).send(content).expect(200);

/** Acknowledges everything in Alice's inbox (what earlier tests left). */
async function drainAlice(): Promise<void> {
  const all = await ss(alice, { extensions: { to_device: { enabled: true } } });
  await ss(alice, { extensions: { to_device: { enabled: true, since: all.extensions.to_device.next_batch } } });
  expect(await inbox(alice)).toBe(0);
}

describe('to_device', () => {
  test('delivered again until a later since acknowledges them; then deleted', async () => {
    for (let i = 0; i < 3; i++) await toAlice(`td${i}`, `m${i}`);
    const first = await ss(alice, { extensions: { to_device: { enabled: true } } });
    expect(bodies(first)).toEqual(['m0', 'm1', 'm2']);
    expect(first.extensions.to_device.events[0]).toEqual({ sender: bob.userId, type: 'm.room.encrypted', content: olm('m0') });
    // The response was lost: the client repeats the request; the messages come again.
    const retry = await ss(alice, { extensions: { to_device: { enabled: true } } });
    expect(bodies(retry)).toEqual(['m0', 'm1', 'm2']);
    expect(await inbox(alice)).toBe(3);
    const next = await ss(alice, { extensions: { to_device: { enabled: true, since: retry.extensions.to_device.next_batch } } }, { pos: retry.pos });
    expect(next.extensions.to_device.events).toEqual([]);
    expect(await inbox(alice)).toBe(0);
  });

  test('limit bounds a response; the rest follows', async () => {
    for (let i = 0; i < 3; i++) await toAlice(`tl${i}`, `l${i}`);
    const a = await ss(alice, { extensions: { to_device: { enabled: true, limit: 2 } } });
    expect(bodies(a)).toEqual(['l0', 'l1']);
    const b = await ss(alice, { extensions: { to_device: { enabled: true, limit: 2, since: a.extensions.to_device.next_batch } } }, { pos: a.pos });
    expect(bodies(b)).toEqual(['l2']);
    await ss(alice, { extensions: { to_device: { enabled: true, since: b.extensions.to_device.next_batch } } }, { pos: b.pos });
    expect(await inbox(alice)).toBe(0);
  });

  test('a waiting long-poll is woken by a to-device message', async () => {
    const first = await ss(alice, { extensions: { to_device: { enabled: true } } });
    const pending = ss(alice, { extensions: { to_device: { enabled: true, since: first.extensions.to_device.next_batch } } }, { pos: first.pos, timeout: 20_000 });
    await waitUntilParked();
    const started = Date.now();
    await toAlice('tw1', 'wake');
    expect(bodies(await pending)).toEqual(['wake']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('the token outlives the connection: after M_UNKNOWN_POS a new connection with the old since loses nothing', async () => {
    await drainAlice();
    for (let i = 0; i < 2; i++) await toAlice(`tp${i}`, `p${i}`);
    const first = await ss(alice, { extensions: { to_device: { enabled: true } } });
    expect(bodies(first)).toEqual(['p0', 'p1']);
    await toAlice('tp2', 'p2');
    const expired = await t.http.post(PATH).query({ pos: '999999.1.1.1' }).set(alice.auth).send({ extensions: { to_device: { enabled: true, since: first.extensions.to_device.next_batch } } });
    expect(expired.status).toBe(400);
    expectMatrixError(expired.body, 'M_UNKNOWN_POS');
    // The refused request acknowledged nothing; the new connection's does.
    expect(await inbox(alice)).toBe(3);
    const fresh = await ss(alice, { extensions: { to_device: { enabled: true, since: first.extensions.to_device.next_batch } } });
    expect(bodies(fresh)).toEqual(['p2']);
    expect(await inbox(alice)).toBe(1);
    await ss(alice, { extensions: { to_device: { enabled: true, since: fresh.extensions.to_device.next_batch } } }, { pos: fresh.pos });
    expect(await inbox(alice)).toBe(0);
  });

  test('another server process acknowledges and delivers from the same inbox', async () => {
    const b = await startSecondServer(t.database.url);
    try {
      await drainAlice();
      await toAlice('tq0', 'q0');
      const first = await ss(alice, { extensions: { to_device: { enabled: true } } });
      expect(bodies(first)).toEqual(['q0']);
      // The next request lands on the other process, which a to-device message sent through the first wakes.
      const pending = b.http.post(PATH).query({ pos: first.pos, timeout: 20_000 }).set(alice.auth).send({ extensions: { to_device: { enabled: true, since: first.extensions.to_device.next_batch } } })
        .then((r) => r); // sent now (supertest sends on then)
      await waitFor(() => b.hs.notifier.waiting() > 0);
      await toAlice('tq1', 'q1');
      const res = await pending;
      expect(res.status).toBe(200);
      expectValidResponseById('slidingSyncUnstable', 200, res.body);
      expect(bodies(res.body as Resp)).toEqual(['q1']);
      expect(await inbox(alice)).toBe(1);
    } finally {
      await b.close();
    }
  });

  test('a since that is no next_batch, or a negative limit, is 400 (never 500)', async () => {
    for (const to_device of [{ enabled: true, since: 'abc' }, { enabled: true, since: 5 }, { enabled: true, limit: -1 }, { enabled: 'yes' }]) {
      const res = await t.http.post(PATH).set(alice.auth).send({ extensions: { to_device } });
      expect(res.status).toBe(400);
      expectMatrixError(res.body);
    }
  });
});

/** Until `check` holds (bounded: 5 s). */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

/** Until some long-poll is parked on the notifier (the request has read and found nothing). */
const waitUntilParked = () => waitFor(() => t.hs.notifier.waiting() > 0);

describe('e2ee', () => {
  test('key counts and fallback key types on a new connection; device lists since pos, and a waiting long-poll woken by them', async () => {
    const carol = await registerUser(t, 'carol');
    const keys = makeDeviceKeys(carol.userId, carol.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(carol.auth).send({ device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, 3) }).expect(200);
    const first = await ss(carol, { extensions: { e2ee: { enabled: true } } });
    expect(first.extensions.e2ee).toEqual({ device_lists: { changed: [], left: [] }, device_one_time_keys_count: { signed_curve25519: 3 }, device_unused_fallback_key_types: [] });

    const room = await createRoom(carol, { preset: 'public_chat' });
    await join(bob, room);
    const start = await ss(carol, { extensions: { e2ee: { enabled: true } } }, { pos: first.pos });
    expect(start.extensions.e2ee.device_lists.changed).toContain(bob.userId);
    // Bob's device keys change: Carol's waiting long-poll wakes with him in device_lists.changed.
    const pending = ss(carol, { extensions: { e2ee: { enabled: true } } }, { pos: start.pos, timeout: 20_000 });
    await waitUntilParked();
    const bobKeys = makeDeviceKeys(bob.userId, bob.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ device_keys: bobKeys.deviceKeys }).expect(200);
    const woken = await pending;
    expect(woken.extensions.e2ee.device_lists).toEqual({ changed: [bob.userId], left: [] });
    expect(woken.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 3 });
    await t.http.post(`${V3}/rooms/${enc(room)}/leave`).set(bob.auth).send({}).expect(200);
    const left = await ss(carol, { extensions: { e2ee: { enabled: true } } }, { pos: woken.pos });
    expect(left.extensions.e2ee.device_lists.left).toEqual([bob.userId]);
  });
});

describe('room-scoped extensions', () => {
  let dave: TestUser;
  let rooms: string[];

  beforeAll(async () => {
    dave = await registerUser(t, 'dave');
    rooms = [];
    // Oldest first; the list orders them newest first.
    for (let i = 0; i < 3; i++) {
      const r = await createRoom(dave, { preset: 'public_chat' });
      await join(bob, r);
      rooms.unshift(r);
    }
  });

  test('account_data: global with m.push_rules on a new connection, room data of the window only; a room entering the window brings its own', async () => {
    for (const r of rooms) await putRoomData(dave, r, 'm.tag', { tags: { u: { order: 0.5 } } });
    await putGlobal(dave, 'org.example.settings', { a: 1 });
    // Sending bumps: rooms[0] is the newest.
    const body = { lists: { top: list([[0, 0]]) }, extensions: { account_data: { enabled: true } } };
    const first = await ss(dave, body);
    expect(Object.keys(first.rooms)).toEqual([rooms[0]]);
    expect(first.extensions.account_data.global.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['m.push_rules', 'org.example.settings']));
    expect(Object.keys(first.extensions.account_data.rooms)).toEqual([rooms[0]]);
    // Nothing changed: empty parts.
    const quiet = await ss(dave, body, { pos: first.pos });
    expect(quiet.extensions.account_data).toEqual({ global: [], rooms: {} });
    // The oldest room is bumped into the window: it comes from scratch, with its tag set long before.
    await send(bob, rooms[2], 'bump');
    const bumped = await ss(dave, body, { pos: quiet.pos });
    expect(bumped.rooms[rooms[2]]?.initial).toBe(true);
    expect(bumped.extensions.account_data.rooms).toEqual({ [rooms[2]]: [{ type: 'm.tag', content: { tags: { u: { order: 0.5 } } } }] });
    // A change in a room outside every window is not sent.
    await putRoomData(dave, rooms[1], 'org.example.r', { n: 1 });
    await putGlobal(dave, 'org.example.settings', { a: 2 });
    const later = await ss(dave, body, { pos: bumped.pos });
    expect(later.extensions.account_data).toEqual({ global: [{ type: 'org.example.settings', content: { a: 2 } }], rooms: {} });
  });

  test('receipts and typing: the rooms of the named lists and subscriptions; a waiting long-poll woken by each', async () => {
    const event = await send(dave, rooms[0], 'read');
    const body = {
      lists: { top: list([[0, 0]]) },
      room_subscriptions: { [rooms[1]]: { timeline_limit: 1, required_state: [] } },
      extensions: { receipts: { enabled: true, lists: ['top'], rooms: [] }, typing: { enabled: true } },
    };
    const first = await ss(dave, body);
    const pending = ss(dave, body, { pos: first.pos, timeout: 20_000 });
    await waitUntilParked();
    await t.http.post(`${V3}/rooms/${enc(rooms[0])}/receipt/m.read/${enc(event)}`).set(bob.auth).send({}).expect(200);
    const receipt = await pending;
    expect(receipt.extensions.receipts.rooms[rooms[0]]).toEqual({ type: 'm.receipt', content: { [event]: { 'm.read': { [bob.userId]: { ts: expect.any(Number) } } } } });

    const typingPoll = ss(dave, body, { pos: receipt.pos, timeout: 20_000 });
    await waitUntilParked();
    await t.http.put(`${V3}/rooms/${enc(rooms[1])}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 30_000 }).expect(200);
    const typing = await typingPoll;
    expect(typing.extensions.typing.rooms).toEqual({ [rooms[1]]: { type: 'm.typing', content: { user_ids: [bob.userId] } } });
    // Receipts were asked for the list only: a receipt in the subscribed room is not sent (on its last event, so as
    // not to bump it into the window).
    const e2 = first.rooms[rooms[1]].timeline.at(-1).event_id as string;
    await t.http.post(`${V3}/rooms/${enc(rooms[1])}/receipt/m.read/${enc(e2)}`).set(bob.auth).send({}).expect(200);
    const after = await ss(dave, body, { pos: typing.pos });
    expect(after.extensions.receipts.rooms[rooms[1]]).toBeUndefined();
    await t.http.put(`${V3}/rooms/${enc(rooms[1])}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: false }).expect(200);
  });

  test('a waiting long-poll is woken by account data', async () => {
    const body = { lists: { top: list([[0, 0]]) }, extensions: { account_data: { enabled: true } } };
    const first = await ss(dave, body);
    const pending = ss(dave, body, { pos: first.pos, timeout: 20_000 });
    await waitUntilParked();
    await putGlobal(dave, 'org.example.wake', { w: 1 });
    expect((await pending).extensions.account_data.global).toEqual([{ type: 'org.example.wake', content: { w: 1 } }]);
  });
});
