/**
 * Pushers: POST /pushers/set creates, updates and (kind null) deletes; GET /pushers lists the user's own; only http
 * pushers to a gateway URL ending in /_matrix/push/v1/notify, event_id_only; email pushers are refused clearly; a
 * pusher goes with its device. Also GET /pushrules/global/{kind}/.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { V3 } from '../support/rooms.js';

const GATEWAY = 'https://push.example.org/_matrix/push/v1/notify';

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  [alice, bob] = [await registerUser(t), await registerUser(t)];
});
afterAll(() => t.close());

const pusher = (over: Record<string, unknown> = {}) => ({
  kind: 'http', app_id: 'org.example.app.android', pushkey: 'pk-alice-1', app_display_name: 'Example', device_display_name: 'Phone',
  lang: 'en', data: { url: GATEWAY, format: 'event_id_only', extra: 'kept' }, ...over,
});
const set = (u: TestUser, body: Record<string, unknown>) => t.http.post(`${V3}/pushers/set`).set(u.auth).send(body);
async function pushersOf(u: TestUser): Promise<Record<string, unknown>[]> {
  const res = await t.http.get(`${V3}/pushers`).set(u.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getPushers', 200, res.body);
  return res.body.pushers;
}

describe('POST /pushers/set and GET /pushers', () => {
  test('none at first; set one: listed as set (data kept whole); set again: updated, not doubled', async () => {
    expect(await pushersOf(alice)).toEqual([]);
    const res = await set(alice, pusher({ profile_tag: 'tag1' }));
    expect(res.status).toBe(200);
    expectValidResponseById('postPusher', 200, res.body);
    expect(await pushersOf(alice)).toEqual([{ ...pusher({ profile_tag: 'tag1' }) }]);
    expect((await set(alice, pusher({ device_display_name: 'Renamed phone' }))).status).toBe(200);
    expect(await pushersOf(alice)).toEqual([pusher({ device_display_name: 'Renamed phone' })]);
    // another pushkey is another pusher
    expect((await set(alice, pusher({ pushkey: 'pk-alice-2', data: { url: GATEWAY } }))).status).toBe(200);
    expect((await pushersOf(alice)).map((p) => p.pushkey)).toEqual(['pk-alice-1', 'pk-alice-2']);
    expect(await pushersOf(bob)).toEqual([]);
  });

  test('kind null deletes (also one that does not exist)', async () => {
    const del = await set(alice, { kind: null, app_id: 'org.example.app.android', pushkey: 'pk-alice-2' });
    expect(del.status).toBe(200);
    expect((await pushersOf(alice)).map((p) => p.pushkey)).toEqual(['pk-alice-1']);
    expect((await set(alice, { kind: null, app_id: 'org.example.app.android', pushkey: 'never-set' })).status).toBe(200);
  });

  test('append false takes the pushkey from another user; append true shares it', async () => {
    const shared = pusher({ pushkey: 'shared-key' });
    expect((await set(alice, shared)).status).toBe(200);
    expect((await set(bob, { ...shared, append: true })).status).toBe(200);
    expect((await pushersOf(alice)).map((p) => p.pushkey)).toContain('shared-key');
    expect((await pushersOf(bob)).map((p) => p.pushkey)).toEqual(['shared-key']);
    expect((await set(bob, shared)).status).toBe(200); // append defaults to false
    expect((await pushersOf(alice)).map((p) => p.pushkey)).not.toContain('shared-key');
    expect((await pushersOf(bob)).map((p) => p.pushkey)).toEqual(['shared-key']);
  });

  test.each([
    ['email pushers', { kind: 'email', app_id: 'm.email', pushkey: 'a@example.org', data: {} }, 'M_INVALID_PARAM', /Email pushers are not supported/],
    ['an unknown kind', { kind: 'sms' }, 'M_INVALID_PARAM', /kind/],
    ['no data', { data: undefined }, 'M_MISSING_PARAM', /data/],
    ['no data.url', { data: { format: 'event_id_only' } }, 'M_MISSING_PARAM', /data.url/],
    ['no lang', { lang: undefined }, 'M_MISSING_PARAM', /lang/],
    ['no app_display_name', { app_display_name: undefined }, 'M_MISSING_PARAM', /app_display_name/],
    ['a URL that is not one', { data: { url: 'not a url' } }, 'M_INVALID_PARAM', /URL/],
    ['another path', { data: { url: 'https://push.example.org/notify' } }, 'M_INVALID_PARAM', /_matrix\/push\/v1\/notify/],
    ['another scheme', { data: { url: 'ftp://push.example.org/_matrix/push/v1/notify' } }, 'M_INVALID_PARAM', /http/],
    ['a password in the URL', { data: { url: 'https://u:p@push.example.org/_matrix/push/v1/notify' } }, 'M_INVALID_PARAM', /password/],
    ['a format with content', { data: { url: GATEWAY, format: 'full' } }, 'M_INVALID_PARAM', /event_id_only/],
    ['a pushkey over 512 bytes', { pushkey: 'k'.repeat(513) }, 'M_BAD_JSON', /pushkey/],
    ['an app_id over 64 characters', { app_id: 'a'.repeat(65) }, 'M_BAD_JSON', /app_id/],
    ['no kind', { kind: undefined }, 'M_MISSING_PARAM', /kind/],
  ])('refused: %s, and nothing stored', async (_name, over, errcode, message) => {
    const before = await pushersOf(alice);
    const res = await set(alice, pusher(over as Record<string, unknown>));
    expect(res.status).toBe(400);
    expectMatrixError(res.body, errcode);
    expect(res.body.error).toMatch(message);
    expect(await pushersOf(alice)).toEqual(before);
  });

  test('no token: 401; a guest: 403', async () => {
    expectMatrixError((await t.http.get(`${V3}/pushers`)).body, 'M_MISSING_TOKEN');
    const guest = await t.http.post(`${V3}/register?kind=guest`).send({});
    const res = await t.http.post(`${V3}/pushers/set`).set({ Authorization: `Bearer ${guest.body.access_token}` }).send(pusher());
    expect([res.status, res.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
  });

  test("a pusher goes with its device: after logout it is no longer listed", async () => {
    const carol = await registerUser(t);
    expect((await set(carol, pusher({ pushkey: 'carol-key' }))).status).toBe(200);
    const other = await t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: carol.userId }, password: carol.password });
    expect((await t.http.post(`${V3}/logout`).set(carol.auth).send({})).status).toBe(200);
    const res = await t.http.get(`${V3}/pushers`).set({ Authorization: `Bearer ${other.body.access_token}` });
    expect(res.body.pushers).toEqual([]);
  });
});

describe('PUSH_GATEWAYS', () => {
  test('with an allow-list, only its origins may be named (403 otherwise)', async () => {
    const s = await startTestServer({ pushGateways: ['https://push.example.org'] });
    try {
      const u = await registerUser(s);
      const ok = await s.http.post(`${V3}/pushers/set`).set(u.auth).send(pusher());
      expect(ok.status).toBe(200);
      const no = await s.http.post(`${V3}/pushers/set`).set(u.auth).send(pusher({ pushkey: 'x', data: { url: 'https://evil.example.org/_matrix/push/v1/notify' } }));
      expect([no.status, no.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    } finally {
      await s.close();
    }
  });
});

describe('GET /pushrules/global/{kind}/', () => {
  test('the rules of one kind, in order, with or without the slash; an unknown kind: 400', async () => {
    const all = await t.http.get(`${V3}/pushrules/`).set(alice.auth);
    for (const path of [`${V3}/pushrules/global/underride/`, `${V3}/pushrules/global/underride`]) {
      const res = await t.http.get(path).set(alice.auth);
      expect(res.status).toBe(200);
      expectValidResponseById('getPushRulesOfKind', 200, res.body);
      expect(res.body).toEqual(all.body.global.underride);
    }
    expect(res(await t.http.get(`${V3}/pushrules/global/nonsense/`).set(alice.auth))).toEqual([400, 'M_INVALID_PARAM']);
  });
});

const res = (r: { status: number; body: { errcode?: string } }) => [r.status, r.body.errcode];
