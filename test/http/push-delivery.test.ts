/**
 * Delivery to a push gateway (a small HTTP server on loopback, test/support/push-gateway.ts): what it receives
 * (event and room ids, the unread count, the pusher's app id, pushkey, pushkey_ts and data without url, in the
 * event_id_only format) and what it never receives (content, ciphertext, display names, the sender and room name
 * unless PUSH_INCLUDE_SENDER); retries with exponential backoff after failures, giving up after PUSH_MAX_ATTEMPTS;
 * a rejected pushkey deletes its pusher; a deleted pusher gets nothing; two server processes on one database push
 * each notification once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startTestServer, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { startPushGateway, type PushGateway } from '../support/push-gateway.js';
import { startPushDelivery, type PushDelivery } from '../../src/relay/push/delivery.js';

const APP_ID = 'org.example.app.ios';
const ROOM_NAME = 'Secret planning room';
const DISPLAY_NAME = 'Alice Wonderland Displayname';

let gateway: PushGateway;
beforeAll(async () => {
  gateway = await startPushGateway();
});
afterAll(() => gateway.close());

interface Setup {
  t: TestServer;
  delivery: PushDelivery;
  alice: TestUser;
  bob: TestUser;
  roomId: string;
}
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(overrides: Record<string, unknown> = {}, pushkey = 'bob-pushkey-1'): Promise<Setup> {
  const t = await startTestServer({ pushRetryInitialMs: 150, pushRetryMaxMs: 5000, ...overrides });
  const delivery = startPushDelivery(t.hs);
  open.push({ close: async () => { await delivery.stop(); await t.close(); } });
  const h = roomHelpers(() => t.http);
  const [alice, bob] = [await registerUser(t), await registerUser(t)];
  expect((await t.http.put(`${V3}/profile/${enc(alice.userId)}/displayname`).set(alice.auth).send({ displayname: DISPLAY_NAME })).status).toBe(200);
  const roomId = await h.createRoom(alice, { preset: 'private_chat', invite: [bob.userId], name: ROOM_NAME });
  await h.join(bob, roomId);
  const set = await t.http.post(`${V3}/pushers/set`).set(bob.auth).send({
    kind: 'http', app_id: APP_ID, pushkey, app_display_name: 'Example', device_display_name: 'Bob phone', lang: 'en',
    data: { url: gateway.url, format: 'event_id_only', custom: 'kept' },
  });
  expect(set.status).toBe(200);
  return { t, delivery, alice, bob, roomId };
}
const send = (s: Setup, tag: string, from = s.alice, on = s.t.http) =>
  roomHelpers(() => on).send(from, s.roomId, tag);
const fresh = () => gateway.requests.splice(0);
const pushersOf = async (s: Setup) => (await s.t.http.get(`${V3}/pushers`).set(s.bob.auth)).body.pushers as unknown[];

describe('what the gateway receives', () => {
  test('event id, room id, unread count, app id, pushkey, pushkey_ts and data without url; nothing else', async () => {
    fresh();
    const s = await setup();
    const e1 = await send(s, 'PLAINTEXTMARKER1');
    const e2 = await send(s, 'PLAINTEXTMARKER2');
    const got = await gateway.waitFor(2);
    expect(got.map((r) => r.body.notification.event_id)).toEqual([e1, e2]);
    const [first] = got;
    const device = first.body.notification.devices[0];
    expect(first.body).toEqual({
      notification: {
        event_id: e1, room_id: s.roomId, counts: { unread: expect.any(Number) },
        devices: [{ app_id: APP_ID, pushkey: 'bob-pushkey-1', pushkey_ts: expect.any(Number), data: { format: 'event_id_only', custom: 'kept' } }],
      },
    });
    expect(Math.abs(Number(device.pushkey_ts) - Date.now() / 1000)).toBeLessThan(600);
    expect(got[1].body.notification.counts).toEqual({ unread: 2 });
    for (const r of got) {
      for (const never of ['PLAINTEXTMARKER', 'cipher', 'content', DISPLAY_NAME, s.alice.userId, ROOM_NAME, 'sender', 'type', gateway.url, 'url']) {
        expect(r.raw).not.toContain(never);
      }
    }
    // bob's own message notifies nobody here (alice has no pusher), so it pushes nothing
    await send(s, 'frombob', s.bob);
    await send(s, 'PLAINTEXTMARKER3');
    const third = await gateway.waitFor(3);
    expect(third.length).toBe(3);
  });

  test('PUSH_INCLUDE_SENDER=on adds the sender and the room name, still no content or display name', async () => {
    fresh();
    const s = await setup({ pushIncludeSender: true });
    const e = await send(s, 'PLAINTEXTMARKER');
    const [r] = await gateway.waitFor(1);
    expect(r.body.notification).toMatchObject({ event_id: e, sender: s.alice.userId, room_name: ROOM_NAME });
    for (const never of ['PLAINTEXTMARKER', 'cipher', 'content', DISPLAY_NAME]) expect(r.raw).not.toContain(never);
  });
});

describe('failures', () => {
  test('the gateway answers 500, 500, 500, then 200: retried with growing waits, delivered once', async () => {
    fresh();
    gateway.script({ status: 500 }, { status: 500 }, { status: 500 });
    const s = await setup();
    const e = await send(s, 'retry');
    const got = await gateway.waitFor(4, 30_000);
    expect(got.map((r) => r.body.notification.event_id)).toEqual([e, e, e, e]);
    const gaps = got.slice(1).map((r, i) => r.at - got[i].at);
    // PUSH_RETRY_INITIAL 150 ms, doubled: at least 150, 300, 600 ms apart (a loaded machine only makes them longer)
    expect(gaps[0]).toBeGreaterThanOrEqual(140);
    expect(gaps[1]).toBeGreaterThanOrEqual(290);
    expect(gaps[2]).toBeGreaterThanOrEqual(590);
    const e2 = await send(s, 'after');
    const next = await gateway.waitFor(5);
    expect(next[4].body.notification.event_id).toBe(e2);
  });

  test('PUSH_MAX_ATTEMPTS: a notification the gateway keeps failing is given up, the next one is pushed', async () => {
    fresh();
    gateway.script({ status: 503 }, { status: 503 });
    const s = await setup({ pushMaxAttempts: 2 });
    const e1 = await send(s, 'doomed');
    await gateway.waitFor(2);
    const e2 = await send(s, 'fine');
    const got = await gateway.waitFor(3);
    expect(got.map((r) => r.body.notification.event_id)).toEqual([e1, e1, e2]);
    expect(await pushersOf(s)).toHaveLength(1);
  });

  test('a rejected pushkey deletes the pusher: gone from GET /pushers, nothing more pushed', async () => {
    fresh();
    gateway.script({ status: 200, rejected: ['bob-pushkey-rejected'] });
    const s = await setup({}, 'bob-pushkey-rejected');
    await send(s, 'one');
    await gateway.waitFor(1);
    for (let i = 0; i < 50 && (await pushersOf(s)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await pushersOf(s)).toEqual([]);
    await send(s, 'two');
    await send(s, 'three');
    s.delivery.kick();
    await new Promise((r) => setTimeout(r, 500));
    expect(gateway.requests).toHaveLength(1);
  });

  test('a deleted pusher (kind null) gets nothing more', async () => {
    fresh();
    const s = await setup();
    await send(s, 'before');
    await gateway.waitFor(1);
    const del = await s.t.http.post(`${V3}/pushers/set`).set(s.bob.auth).send({ kind: null, app_id: APP_ID, pushkey: 'bob-pushkey-1' });
    expect(del.status).toBe(200);
    await send(s, 'after');
    s.delivery.kick();
    await new Promise((r) => setTimeout(r, 500));
    expect(gateway.requests).toHaveLength(1);
  });
});

describe('two server processes on one database', () => {
  test('each notification is pushed once, whichever process stored it', async () => {
    fresh();
    const s = await setup();
    const second: SecondServer = await startSecondServer(s.t.database.url);
    const delivery2 = startPushDelivery(second.hs);
    open.push({ close: async () => { await delivery2.stop(); await second.close(); } });
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) sent.push(await send(s, `twice${i}`, s.alice, i % 2 === 0 ? s.t.http : second.http));
    await gateway.waitFor(12, 30_000);
    // both processes were woken by every send; give a duplicate every chance to arrive
    s.delivery.kick();
    delivery2.kick();
    await new Promise((r) => setTimeout(r, 1000));
    const ids = gateway.requests.map((r) => r.body.notification.event_id);
    expect(ids.length).toBe(12);
    expect(new Set(ids)).toEqual(new Set(sent));
  }, 60_000);
});
