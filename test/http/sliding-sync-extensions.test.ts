/**
 * The sliding-sync extensions (to_device, e2ee, account_data, receipts, typing) built directly with buildExtensions
 * on a real server and database, as the engine calls them: acknowledged to-device deletion, device lists and key
 * counts, scoping by lists and room subscriptions, rooms sent from scratch, and the wakes that end a long-poll.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys, oneTimeKeys } from '../support/device-keys.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { buildExtensions, extensionsRequestSchema, type ExtensionScope } from '../../src/relay/sliding-sync/extensions/index.js';
import { selectStreamHead } from '../../src/db/stream.js';
import { roomKey, userKey } from '../../src/relay/notifier.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(['alice', 'bob'])));
afterAll(() => t.close());

const { createRoom, join, leave, send } = roomHelpers(() => t.http);
const inbox = async (u: TestUser) => (await t.hs.sql`SELECT count(*)::int AS n FROM to_device_inbox WHERE user_id = ${u.userId}`)[0].n as number;
const olm = (body: string) => ({ algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'KEY', ciphertext: { KEY: { type: 0, body } } });

/** Where a response ends: the stream watermark and the typing position, as the engine reads them. */
async function mark(): Promise<{ upTo: number; typing: number }> {
  return { typing: t.hs.typing.position(), upTo: await selectStreamHead(t.hs.sql) };
}

interface Read {
  since?: { upTo: number; typing: number };
  lists?: Record<string, string[]>;
  subscribed?: string[];
  initialRooms?: string[];
}

/** One read of the extensions for `u` from `since` (undefined: a new connection) up to now. */
async function extensions(u: TestUser, request: unknown, read: Read = {}): Promise<{ extensions: Record<string, any>; empty: boolean; at: { upTo: number; typing: number } }> {
  const at = await mark();
  const scope: ExtensionScope = {
    hs: t.hs,
    requester: { userId: u.userId, deviceId: u.deviceId, isGuest: false, isAdmin: false, tokenHash: Buffer.alloc(0) },
    since: read.since?.upTo,
    upTo: at.upTo,
    typing: { since: read.since?.typing, upTo: at.typing },
    listRooms: new Map(Object.entries(read.lists ?? {})),
    subscribedRooms: read.subscribed ?? [],
    initialRooms: read.initialRooms ? new Set(read.initialRooms) : undefined,
  };
  return { ...(await buildExtensions(scope, extensionsRequestSchema.parse(request))), at };
}

describe('request', () => {
  test('unknown extensions and keys are ignored; disabled extensions are not built', async () => {
    const r = await extensions(alice, { 'org.matrix.msc4354.sticky_events': { enabled: true }, e2ee: { enabled: false, x: 1 }, typing: {} });
    expect(r.extensions).toEqual({});
    expect(r.empty).toBe(true);
  });

  test('a to_device since that is not a next_batch is refused', () => {
    expect(extensionsRequestSchema.safeParse({ to_device: { enabled: true, since: 's12_4' } }).success).toBe(false);
    expect(extensionsRequestSchema.safeParse({ to_device: { enabled: true, since: '12' } }).success).toBe(true);
  });
});

describe('to_device', () => {
  const send3 = async (prefix: string) => {
    for (let i = 0; i < 3; i++) {
      await t.http.put(`${V3}/sendToDevice/m.room.encrypted/${prefix}${i}`).set(bob.auth).send({ messages: { [alice.userId]: { [alice.deviceId]: olm(`${prefix}${i}`) } } });
    }
  };
  const bodies = (r: { extensions: Record<string, any> }) => r.extensions.to_device.events.map((e: { content: ReturnType<typeof olm> }) => e.content.ciphertext.KEY.body);

  test('in order, again until a later since acknowledges them, then deleted', async () => {
    await send3('a');
    const first = await extensions(alice, { to_device: { enabled: true } });
    expect(bodies(first)).toEqual(['a0', 'a1', 'a2']);
    expect(first.empty).toBe(false);
    expect(first.extensions.to_device.events[0]).toEqual({ sender: bob.userId, type: 'm.room.encrypted', content: olm('a0') });
    // The response never reached the client: it asks again without a since and gets them again.
    const again = await extensions(alice, { to_device: { enabled: true } });
    expect(bodies(again)).toEqual(['a0', 'a1', 'a2']);
    expect(again.extensions.to_device.next_batch).toBe(first.extensions.to_device.next_batch);
    expect(await inbox(alice)).toBe(3);
    const acked = await extensions(alice, { to_device: { enabled: true, since: again.extensions.to_device.next_batch } });
    expect(acked.extensions.to_device).toEqual({ next_batch: again.extensions.to_device.next_batch, events: [] });
    expect(acked.empty).toBe(true);
    expect(await inbox(alice)).toBe(0);
  });

  test('limit bounds a batch; the next since acknowledges only what was carried', async () => {
    await send3('b');
    const page1 = await extensions(alice, { to_device: { enabled: true, limit: 2 } });
    expect(bodies(page1)).toEqual(['b0', 'b1']);
    const page2 = await extensions(alice, { to_device: { enabled: true, limit: 2, since: page1.extensions.to_device.next_batch } });
    expect(bodies(page2)).toEqual(['b2']);
    expect(await inbox(alice)).toBe(1);
    await extensions(alice, { to_device: { enabled: true, since: page2.extensions.to_device.next_batch } });
    expect(await inbox(alice)).toBe(0);
  });

  test('nothing above the watermark is read', async () => {
    const before = await extensions(alice, { to_device: { enabled: true } });
    await send3('c');
    const scope = { since: undefined, upTo: before.at.upTo };
    const r = await buildExtensions(
      { hs: t.hs, requester: { userId: alice.userId, deviceId: alice.deviceId, isGuest: false, isAdmin: false, tokenHash: Buffer.alloc(0) }, ...scope, typing: { since: undefined, upTo: 0 }, listRooms: new Map(), subscribedRooms: [] },
      { to_device: { enabled: true, since: before.extensions.to_device.next_batch } },
    );
    expect(r.extensions.to_device).toEqual({ next_batch: before.extensions.to_device.next_batch, events: [] });
    expect(bodies(await extensions(alice, { to_device: { enabled: true, since: before.extensions.to_device.next_batch } }))).toEqual(['c0', 'c1', 'c2']);
  });
});

describe('e2ee', () => {
  test('key counts always given; no device lists on a new connection', async () => {
    const keys = makeDeviceKeys(bob.userId, bob.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, 4) });
    await t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ fallback_keys: { 'signed_curve25519:FB': keys.sign({ key: 'kB', fallback: true }) } });
    const r = await extensions(bob, { e2ee: { enabled: true } });
    expect(r.extensions.e2ee).toEqual({
      device_lists: { changed: [], left: [] },
      device_one_time_keys_count: { signed_curve25519: 4 },
      device_unused_fallback_key_types: ['signed_curve25519'],
    });
    expect(r.empty).toBe(true);
    const fresh = await extensions(alice, { e2ee: { enabled: true } });
    expect(fresh.extensions.e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });
  });

  test('device_lists.changed when a room member adds a device, left when they leave the last shared room', async () => {
    const carol = await registerUser(t, 'carol');
    const room = await createRoom(alice, { preset: 'public_chat' });
    await join(carol, room);
    const start = await extensions(alice, { e2ee: { enabled: true } });
    const login = await t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'carol' }, password: carol.password });
    const keys = makeDeviceKeys(carol.userId, login.body.device_id);
    await t.http.post(`${V3}/keys/upload`).set({ Authorization: `Bearer ${login.body.access_token}` }).send({ device_keys: keys.deviceKeys });
    const changed = await extensions(alice, { e2ee: { enabled: true } }, { since: start.at });
    expect(changed.extensions.e2ee.device_lists.changed).toContain(carol.userId);
    expect(changed.empty).toBe(false);
    await leave(carol, room);
    const left = await extensions(alice, { e2ee: { enabled: true } }, { since: changed.at });
    expect(left.extensions.e2ee.device_lists).toEqual({ changed: [], left: [carol.userId] });
    const quiet = await extensions(alice, { e2ee: { enabled: true } }, { since: left.at });
    expect(quiet.empty).toBe(true);
  });
});

describe('room-scoped extensions', () => {
  let r1: string, r2: string, r3: string;
  const putRoomData = (u: TestUser, roomId: string, type: string, content: Record<string, unknown>) =>
    t.http.put(`${V3}/user/${enc(u.userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`).set(u.auth).send(content).expect(200);
  const putGlobal = (u: TestUser, type: string, content: Record<string, unknown>) => t.http.put(`${V3}/user/${enc(u.userId)}/account_data/${enc(type)}`).set(u.auth).send(content).expect(200);
  const all = { enabled: true };

  beforeAll(async () => {
    [r1, r2, r3] = [await createRoom(alice, { preset: 'public_chat' }), await createRoom(alice, { preset: 'public_chat' }), await createRoom(alice, { preset: 'public_chat' })];
    for (const r of [r1, r2, r3]) await join(bob, r);
  });

  test('account_data: everything global (with push rules) on a new connection; rooms by lists and subscriptions', async () => {
    await putGlobal(alice, 'org.example.g', { n: 1 });
    for (const r of [r1, r2, r3]) await putRoomData(alice, r, 'org.example.r', { room: r });
    const lists = { main: [r1], other: [r2] };
    const r = await extensions(alice, { account_data: all }, { lists, subscribed: [r3] });
    expect(r.extensions.account_data.global.map((e: { type: string }) => e.type).sort()).toEqual(['m.push_rules', 'org.example.g']);
    expect(Object.keys(r.extensions.account_data.rooms).sort()).toEqual([r1, r2, r3].sort());
    expect(r.extensions.account_data.rooms[r1]).toEqual([{ type: 'org.example.r', content: { room: r1 } }]);
    const onlyMain = await extensions(alice, { account_data: { enabled: true, lists: ['main'], rooms: [] } }, { lists, subscribed: [r3] });
    expect(Object.keys(onlyMain.extensions.account_data.rooms)).toEqual([r1]);
    const onlySub = await extensions(alice, { account_data: { enabled: true, lists: [], rooms: [r3, r2] } }, { lists, subscribed: [r3] });
    expect(Object.keys(onlySub.extensions.account_data.rooms)).toEqual([r3]);
  });

  test('account_data: incremental gives what changed; a room sent from scratch gets all of its own', async () => {
    const lists = { main: [r1, r2] };
    const start = await extensions(alice, { account_data: all }, { lists });
    expect((await extensions(alice, { account_data: all }, { lists, since: start.at })).empty).toBe(true);
    await putGlobal(alice, 'org.example.g', { n: 2 });
    await putRoomData(alice, r2, 'org.example.r', { room: r2, n: 2 });
    const next = await extensions(alice, { account_data: all }, { lists, since: start.at });
    expect(next.extensions.account_data).toEqual({ global: [{ type: 'org.example.g', content: { n: 2 } }], rooms: { [r2]: [{ type: 'org.example.r', content: { room: r2, n: 2 } }] } });
    // r3 scrolls into the window: the engine sends it from scratch, with its older account data.
    const scrolled = await extensions(alice, { account_data: all }, { lists: { main: [r3] }, since: next.at, initialRooms: [r3] });
    expect(scrolled.extensions.account_data.rooms).toEqual({ [r3]: [{ type: 'org.example.r', content: { room: r3 } }] });
  });

  test('receipts: changes in joined rooms in scope; all of a room new to the connection', async () => {
    const e1 = await send(bob, r1, 'x');
    const e2 = await send(bob, r2, 'y');
    const start = await mark();
    await t.http.post(`${V3}/rooms/${enc(r1)}/receipt/m.read/${enc(e1)}`).set(bob.auth).send({}).expect(200);
    await t.http.post(`${V3}/rooms/${enc(r2)}/receipt/m.read/${enc(e2)}`).set(bob.auth).send({}).expect(200);
    const lists = { main: [r1, r2] };
    const r = await extensions(alice, { receipts: { enabled: true, lists: ['main'] } }, { lists, since: start });
    expect(r.extensions.receipts.rooms[r1]).toEqual({ type: 'm.receipt', content: { [e1]: { 'm.read': { [bob.userId]: { ts: expect.any(Number) } } } } });
    expect(Object.keys(r.extensions.receipts.rooms).sort()).toEqual([r1, r2].sort());
    const scoped = await extensions(alice, { receipts: { enabled: true, lists: [], rooms: ['*'] } }, { lists, subscribed: [r2], since: start });
    expect(Object.keys(scoped.extensions.receipts.rooms)).toEqual([r2]);
    const later = await extensions(alice, { receipts: all }, { lists, since: r.at });
    expect(later.empty).toBe(true);
    expect((await extensions(alice, { receipts: all }, { lists, since: r.at, initialRooms: [r1] })).extensions.receipts.rooms[r1]).toBeDefined();
    // A room the user is not joined to gets none.
    await leave(alice, r2);
    const gone = await extensions(alice, { receipts: all }, { lists });
    expect(Object.keys(gone.extensions.receipts.rooms)).toEqual([r1]);
    await join(alice, r2);
  });

  test('typing: changes in joined rooms in scope, by typing position', async () => {
    const lists = { main: [r1, r3] };
    const start = await extensions(alice, { typing: all }, { lists });
    await t.http.put(`${V3}/rooms/${enc(r1)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 30_000 }).expect(200);
    await t.http.put(`${V3}/rooms/${enc(r2)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 30_000 }).expect(200);
    const r = await extensions(alice, { typing: all }, { lists, since: start.at });
    expect(r.extensions.typing).toEqual({ rooms: { [r1]: { type: 'm.typing', content: { user_ids: [bob.userId] } } } });
    expect((await extensions(alice, { typing: all }, { lists, since: r.at })).empty).toBe(true);
    // A new connection (or a room sent from scratch) sees who is typing now.
    expect(Object.keys((await extensions(alice, { typing: all }, { lists: { main: [r1, r2] } })).extensions.typing.rooms).sort()).toEqual([r1, r2].sort());
    await t.http.put(`${V3}/rooms/${enc(r1)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: false }).expect(200);
    await t.http.put(`${V3}/rooms/${enc(r2)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: false }).expect(200);
    const stopped = await extensions(alice, { typing: all }, { lists, since: r.at });
    expect(stopped.extensions.typing.rooms[r1]).toEqual({ type: 'm.typing', content: { user_ids: [] } });
  });

  test('every extension change wakes a listener on the user key and the room keys', async () => {
    const keys = [userKey(alice.userId), roomKey(r1)];
    const woken = async (change: () => Promise<unknown>) => {
      const listener = t.hs.notifier.listen(keys);
      try {
        await change();
        return await listener.wait(5000);
      } finally {
        listener.close();
      }
    };
    expect(await woken(() => t.http.put(`${V3}/sendToDevice/m.room.encrypted/wake1`).set(bob.auth).send({ messages: { [alice.userId]: { '*': olm('wakeup') } } }).expect(200))).toBe(true);
    expect(await woken(() => putGlobal(alice, 'org.example.w', { n: 1 }))).toBe(true);
    expect(await woken(() => putRoomData(alice, r1, 'org.example.w', { n: 1 }))).toBe(true);
    const e = await send(bob, r1, 'z');
    expect(await woken(() => t.http.post(`${V3}/rooms/${enc(r1)}/receipt/m.read/${enc(e)}`).set(bob.auth).send({}).expect(200))).toBe(true);
    expect(await woken(() => t.http.put(`${V3}/rooms/${enc(r1)}/typing/${enc(bob.userId)}`).set(bob.auth).send({ typing: true, timeout: 1000 }).expect(200))).toBe(true);
    const keysB = makeDeviceKeys(bob.userId, bob.deviceId);
    expect(await woken(() => t.http.post(`${V3}/keys/upload`).set(bob.auth).send({ device_keys: { ...keysB.deviceKeys } }))).toBe(true);
  });
});
