/**
 * Filters: POST /user/{userId}/filter stores a filter as sent and returns its id; GET reads it back. Only the
 * owner uploads and reads; wrong shapes are refused before anything is stored.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const filterPath = (userId: string) => `/_matrix/client/v3/user/${encodeURIComponent(userId)}/filter`;

/** What Element Web uploads at start-up (lazy-loading members, thread notifications). */
const elementFilter = {
  room: {
    state: { lazy_load_members: true },
    timeline: { limit: 20, unread_thread_notifications: true, lazy_load_members: true },
  },
};

/** Uses every documented field, plus keys the spec does not define (which must survive). */
const fullFilter = {
  event_fields: ['type', 'content', 'sender'],
  event_format: 'client',
  presence: { types: ['m.presence'], not_senders: ['@alice:example.com'], limit: 5 },
  account_data: { types: ['m.*'], not_types: ['m.push_rules'] },
  room: {
    rooms: ['!a:example.com', '!b:example.com'],
    not_rooms: ['!726s6s6q:example.com'],
    include_leave: false,
    state: { types: ['m.room.*'], not_rooms: ['!726s6s6q:example.com'], lazy_load_members: true, include_redundant_members: false },
    timeline: {
      limit: 10,
      types: ['m.room.message', 'm.room.encrypted'],
      not_types: ['m.room.member', 'org.example.*'],
      senders: ['@bob:example.com'],
      not_senders: ['@spam:example.com'],
      contains_url: false,
      lazy_load_members: true,
      unread_thread_notifications: true,
      'org.example.unknown_in_timeline': { kept: [1, 2] },
    },
    ephemeral: { types: ['m.receipt', 'm.typing'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
    account_data: { types: ['m.tag'], limit: 0 },
    'org.example.unknown_in_room': true,
  },
  'org.example.unknown_top': { nested: { deep: null } },
};

async function define(u: TestUser, filter: unknown, userId = u.userId) {
  return t.http.post(filterPath(userId)).set(u.auth).send(filter as object);
}

async function expectDefined(u: TestUser, filter: unknown): Promise<string> {
  const res = await define(u, filter);
  expect(res.status).toBe(200);
  expectValidResponseById('defineFilter', 200, res.body);
  expect(Object.keys(res.body)).toEqual(['filter_id']);
  expect(typeof res.body.filter_id).toBe('string');
  expect(res.body.filter_id.startsWith('{')).toBe(false);
  return res.body.filter_id;
}

async function get(u: TestUser, filterId: string, userId = u.userId) {
  return t.http.get(`${filterPath(userId)}/${encodeURIComponent(filterId)}`).set(u.auth);
}

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

async function filterCount(userId: string): Promise<number> {
  const [row] = await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM filters WHERE user_id = ${userId}`;
  return row.n;
}

describe('defining and reading filters', () => {
  test("Element's filter: POST returns a filter_id, GET returns the filter as sent", async () => {
    const u = await registerUser(t);
    const id = await expectDefined(u, elementFilter);
    const res = await get(u, id);
    expect([res.status, res.body]).toEqual([200, elementFilter]);
    expectValidResponseById('getFilter', 200, res.body);
  });

  test('every documented field, and unknown keys at every level, are kept', async () => {
    const u = await registerUser(t);
    const id = await expectDefined(u, fullFilter);
    const res = await get(u, id);
    expect([res.status, res.body]).toEqual([200, fullFilter]);
    expectValidResponseById('getFilter', 200, res.body);
  });

  test('an empty filter is a filter', async () => {
    const u = await registerUser(t);
    const id = await expectDefined(u, {});
    expect((await get(u, id)).body).toEqual({});
  });

  test('different filters get different ids; each user reads only their own', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    const one = await expectDefined(a, { room: { timeline: { limit: 1 } } });
    const two = await expectDefined(a, { room: { timeline: { limit: 2 } } });
    expect(one).not.toBe(two);
    expect((await get(a, one)).body).toEqual({ room: { timeline: { limit: 1 } } });
    expect((await get(a, two)).body).toEqual({ room: { timeline: { limit: 2 } } });
    // b's token on a's filter: 403; b's own id space does not have a's filter.
    expectError(await get(b, one, a.userId), 403, 'M_FORBIDDEN');
    expectError(await get(b, one), 404, 'M_NOT_FOUND');
  });

  test('uploading the same filter again returns the same id and stores nothing new', async () => {
    const u = await registerUser(t);
    const first = await expectDefined(u, elementFilter);
    const again = await expectDefined(u, JSON.parse(JSON.stringify(elementFilter)));
    expect(again).toBe(first);
    expect(await filterCount(u.userId)).toBe(1);
  });

  test('keys named like Object.prototype members are kept', async () => {
    const u = await registerUser(t);
    const body = '{"room":{"timeline":{"limit":3,"__proto__":{"x":1}}},"constructor":1,"__proto__":{"y":2}}';
    const res = await t.http.post(filterPath(u.userId)).set(u.auth).set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(200);
    const got = await get(u, res.body.filter_id);
    expect(JSON.parse(got.text)).toEqual(JSON.parse(body));
  });
});

describe('errors', () => {
  test("another user's filters: 403 M_FORBIDDEN for POST and GET, nothing stored", async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    const id = await expectDefined(b, elementFilter);
    expectError(await define(a, elementFilter, b.userId), 403, 'M_FORBIDDEN');
    expectError(await get(a, id, b.userId), 403, 'M_FORBIDDEN');
    expect(await filterCount(a.userId)).toBe(0);
    expect(await filterCount(b.userId)).toBe(1);
  });

  test('unknown filter ids: 404 M_NOT_FOUND, never a server error', async () => {
    const u = await registerUser(t);
    for (const id of ['999999', 'abc', '{"room":{}}', '-1', '1.5', 'x'.repeat(300)]) {
      expectError(await get(u, id), 404, 'M_NOT_FOUND');
    }
    // A NUL never reaches the route: the input gate refuses it.
    expectError(await get(u, 'a\u0000b'), 400, 'M_INVALID_PARAM');
  });

  test('wrong shapes: 400 M_BAD_JSON, nothing stored', async () => {
    const u = await registerUser(t);
    const bad: unknown[] = [
      { room: { timeline: { limit: '10' } } },
      { room: { timeline: { limit: 1.5 } } },
      { room: { timeline: { limit: -1 } } },
      { event_format: 'foo' },
      { event_fields: 'type' },
      { room: { timeline: { types: 'm.room.message' } } },
      { room: { state: { not_types: [1] } } },
      { room: { timeline: { lazy_load_members: 'yes' } } },
      { room: { include_leave: 1 } },
      { room: 'all' },
      { room: null },
      { presence: [] },
      { account_data: { types: {} } },
      { room: { rooms: ['not-a-room-id'] } },
      { room: { timeline: { senders: ['bob'] } } },
      { presence: { not_senders: ['example.com'] } },
      { room: { timeline: { types: ['a\u0000b'] } } },
    ];
    for (const filter of bad) {
      const res = await define(u, filter);
      expect({ filter, status: res.status, errcode: res.body.errcode }).toEqual({ filter, status: 400, errcode: 'M_BAD_JSON' });
      expectMatrixError(res.body);
    }
    expect(await filterCount(u.userId)).toBe(0);
  });

  test('a body that is not a JSON object: 400 M_NOT_JSON or M_BAD_JSON', async () => {
    const u = await registerUser(t);
    for (const body of ['[]', '"filter"', '7', 'null', '{"room":', 'not json']) {
      const res = await t.http.post(filterPath(u.userId)).set(u.auth).set('Content-Type', 'application/json').send(body);
      expect(res.status).toBe(400);
      expect(['M_NOT_JSON', 'M_BAD_JSON']).toContain(res.body.errcode);
      expectMatrixError(res.body);
    }
    expect(await filterCount(u.userId)).toBe(0);
  });

  test('no token: 401 M_MISSING_TOKEN', async () => {
    const u = await registerUser(t);
    expectError(await t.http.post(filterPath(u.userId)).send({}), 401, 'M_MISSING_TOKEN');
    expectError(await t.http.get(`${filterPath(u.userId)}/1`), 401, 'M_MISSING_TOKEN');
  });
});
