/**
 * Simplified sliding sync under hostile input, as an outside client would send it: wrong JSON types and numbers out of
 * range in every part of the body (ranges, lists, required_state, timeline_limit, conn_id), forged pos values in
 * each of their four parts (and past 2^53), odd timeouts, and requests racing for one connection. Every refusal is a
 * 4xx Matrix error that writes nothing; nothing is ever a 5xx.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { changedTables, dbFingerprint } from '../support/db-state.js';
import { roomHelpers } from '../support/rooms.js';
import { expectMatrixError } from '../support/spec.js';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
let alice: TestUser;
/** A pos of alice's connection 'c' (conn_id), valid until a test replaces the connection. */
let pos: string;

const { createRoom } = roomHelpers(() => t.http);

beforeAll(async () => {
  [t, [alice]] = await startWithUsers(1);
  for (let i = 0; i < 3; i++) await createRoom(alice, { name: `room ${i}` });
  const res = await t.http.post(PATH).set(alice.auth).send({ conn_id: 'c', lists: { all: { ranges: [[0, 10]], timeline_limit: 1 } } });
  expect(res.status).toBe(200);
  pos = res.body.pos as string;
});
afterAll(() => t.close());

/** Runs `fn`, then checks that the database is exactly as before it. */
async function writesNothing(fn: () => Promise<void>): Promise<void> {
  const before = await dbFingerprint(t.hs.sql);
  await fn();
  expect(changedTables(before, await dbFingerprint(t.hs.sql))).toEqual([]);
}

/** The body sent as it is (a string: raw JSON text). */
const post = (query: string, body: unknown) =>
  t.http.post(`${PATH}${query}`).set(alice.auth).set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));

const range = (r: unknown) => ({ conn_id: 'c', lists: { all: { ranges: r } } });

describe('the body', () => {
  test.each([
    ['a negative range start', range([[-1, 3]])],
    ['a fractional range end', range([[0, 2.5]])],
    ['a range of three numbers', range([[0, 1, 2]])],
    ['a range of one number', range([[0]])],
    ['ranges as strings', range([['0', '3']])],
    ['ranges not a list', range('0-3')],
    ['a range null', range([null])],
    ['101 ranges', range(Array.from({ length: 101 }, () => [0, 1]))],
    ['101 lists', { lists: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, {}])) }],
    ['10,000 lists', { lists: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`l${i}`, {}])) }],
    ['a list name of 65 characters', { lists: { ['x'.repeat(65)]: {} } }],
    ['an empty list name', { lists: { '': {} } }],
    ['lists as an array', { lists: [{}] }],
    ['a list null', { lists: { a: null } }],
    ['timeline_limit -1', { lists: { a: { timeline_limit: -1 } } }],
    ['timeline_limit 1e9', { lists: { a: { timeline_limit: 1e9 } } }],
    ['timeline_limit 1.5', { lists: { a: { timeline_limit: 1.5 } } }],
    ['timeline_limit a string', { room_subscriptions: { '!r:test.local': { timeline_limit: '5' } } }],
    ['required_state nested', { lists: { a: { required_state: [[['m.room.name'], '']] } } }],
    ['required_state of one string', { lists: { a: { required_state: [['m.room.name']] } } }],
    ['required_state of three strings', { lists: { a: { required_state: [['a', 'b', 'c']] } } }],
    ['required_state with a number', { lists: { a: { required_state: [['m.room.name', 0]] } } }],
    ['1001 required_state pairs', { lists: { a: { required_state: Array.from({ length: 1001 }, (_, i) => ['t', `${i}`]) } } }],
    ['an event type of 256 characters', { lists: { a: { required_state: [['t'.repeat(256), '']] } } }],
    ['filters of the wrong type', { lists: { a: { filters: { is_dm: 'yes' } } } }],
    ['501 room subscriptions', { room_subscriptions: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`!r${i}:test.local`, {}])) }],
    ['unsubscribe_rooms not a list', { unsubscribe_rooms: '!r:test.local' }],
    ['conn_id a number', { conn_id: 5 }],
    ['conn_id null', { conn_id: null }],
    ['conn_id of 256 characters', { conn_id: 'c'.repeat(256) }],
    ['extensions an array', { extensions: [] }],
    ['to_device since not a next_batch', { extensions: { to_device: { enabled: true, since: 'abc' } } }],
    ['to_device since of 16 digits', { extensions: { to_device: { enabled: true, since: '9'.repeat(16) } } }],
    ['to_device limit -1', { extensions: { to_device: { enabled: true, limit: -1 } } }],
    ['enabled a string', { extensions: { e2ee: { enabled: 'true' } } }],
    ['an extension list of numbers', { extensions: { receipts: { enabled: true, lists: [1] } } }],
  ])('%s is 400 M_BAD_JSON and writes nothing', async (_what, body) => {
    await writesNothing(async () => {
      for (const query of ['', `?pos=${pos}`]) {
        const res = await post(query, body);
        expect(res.status).toBe(400);
        expectMatrixError(res.body, 'M_BAD_JSON');
      }
    });
  });

  test.each([
    ['JSON nested 101 deep in required_state', 'M_BAD_JSON', `{"lists":{"a":{"required_state":${'['.repeat(101)}${']'.repeat(101)}}}}`],
    ['a range past 2^53-1', 'M_BAD_JSON', '{"lists":{"a":{"ranges":[[0,9007199254740992]]}}}'],
    ['a range of 1e400', 'M_BAD_JSON', '{"lists":{"a":{"ranges":[[0,1e400]]}}}'],
    ['a NUL in conn_id', 'M_BAD_JSON', '{"conn_id":"a\\u0000"}'],
    ['a lone surrogate in conn_id', 'M_BAD_JSON', '{"conn_id":"\\ud800"}'],
    ['an array body', 'M_NOT_JSON', '[]'],
    ['null', 'M_NOT_JSON', 'null'],
    ['truncated JSON', 'M_NOT_JSON', '{"lists":'],
  ])('%s is 400 %s and writes nothing', async (_what, errcode, text) => {
    await writesNothing(async () => {
      const res = await post('', text);
      expect(res.status).toBe(400);
      expectMatrixError(res.body, errcode);
    });
  });

  test('huge, reversed and far-away ranges are answered (the window is what exists), bounded by the room count', async () => {
    const res = await post(`?pos=${pos}`, range([[0, Number.MAX_SAFE_INTEGER], [5, 1], [1e15, 1e15], ...Array.from({ length: 97 }, () => [0, Number.MAX_SAFE_INTEGER])]));
    expect(res.status).toBe(200);
    expect(res.body.lists.all.count).toBe(3);
    pos = res.body.pos;
  });

  test('an odd but valid conn_id (RTL override, emoji, 255 characters) is a connection of its own', async () => {
    for (const connId of ['\u202e\uffff', '🙂'.repeat(2), 'é'.repeat(255)]) {
      const res = await post('', { conn_id: connId });
      expect(res.status).toBe(200);
      expect((await post(`?pos=${res.body.pos}`, { conn_id: connId })).status).toBe(200);
      expectMatrixError((await post(`?pos=${res.body.pos}`, { conn_id: 'c' })).body, 'M_UNKNOWN_POS');
    }
  });
});

describe('the pos', () => {
  test('forged in each of its parts, or malformed: 400 M_UNKNOWN_POS, nothing written', async () => {
    const [connection, gen, stream, typing] = pos.split('.');
    const big = '999999999999999';
    const forged = [
      `${big}.${gen}.${stream}.${typing}`,
      `${connection}.${big}.${stream}.${typing}`,
      `${connection}.0.${stream}.${typing}`,
      `${Number(connection) + 1000}.${gen}.${stream}.${typing}`,
      `9007199254740993.${gen}.${stream}.${typing}`,
      `${connection}.${gen}.${stream}.${'9'.repeat(16)}`,
      `-1.${gen}.${stream}.${typing}`,
      `${connection}.${gen}.${stream}`,
      `${pos}.`,
      `${connection}.${gen}.${stream}.${typing}.0`,
      '',
      'abc',
      '1e3.1.1.1',
      '0x1.1.1.1',
      ' 1.1.1.1',
      'x'.repeat(100),
    ];
    await writesNothing(async () => {
      for (const p of forged) {
        const res = await t.http.post(PATH).query({ pos: p, timeout: 0 }).set(alice.auth).send({ conn_id: 'c' });
        expect([p, res.status]).toEqual([p, 400]);
        expectMatrixError(res.body, 'M_UNKNOWN_POS');
      }
      const long = await t.http.post(PATH).query({ pos: 'x'.repeat(101) }).set(alice.auth).send({ conn_id: 'c' });
      expect(long.status).toBe(400);
      expectMatrixError(long.body, 'M_INVALID_PARAM');
      const twice = await t.http.post(`${PATH}?pos=${pos}&pos=${pos}`).set(alice.auth).send({ conn_id: 'c' });
      expect(twice.status).toBe(400);
      expectMatrixError(twice.body, 'M_INVALID_PARAM');
    });
  });

  test('a stream or typing position from the future is read as now', async () => {
    const [connection, gen] = pos.split('.');
    for (const p of [`${connection}.${gen}.999999999999999.0`, `${connection}.${gen}.0.999999999999999`]) {
      const res = await t.http.post(PATH).query({ pos: p, timeout: 0 }).set(alice.auth).send({ conn_id: 'c' });
      expect(res.status).toBe(200);
    }
  });

  test('timeout NaN, negative, fractional, past 2^53 or not a number: 400 M_INVALID_PARAM, nothing written', async () => {
    await writesNothing(async () => {
      for (const timeout of ['NaN', '-1', '1.5', 'Infinity', '1e400', '9007199254740993', 'soon', '[]']) {
        const res = await t.http.post(PATH).query({ pos, timeout }).set(alice.auth).send({ conn_id: 'c' });
        expect([timeout, res.status]).toEqual([timeout, 400]);
        expectMatrixError(res.body, 'M_INVALID_PARAM');
      }
    });
  });
});

describe('requests racing for connections', () => {
  /** Each answer is a response or, for a request whose connection a racing one replaced meanwhile, M_UNKNOWN_POS. */
  function expectAnsweredOrReplaced(answers: { status: number; body: Record<string, unknown> }[]): string[] {
    for (const r of answers) if (r.status !== 200) expectMatrixError(r.body, 'M_UNKNOWN_POS');
    const answered = answers.filter((r) => r.status === 200).map((r) => r.body.pos as string);
    expect(answered.length).toBeGreaterThan(0);
    return answered;
  }

  test('new connections with one conn_id at once: no 5xx, one connection left, its pos the only one known', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => post('', { conn_id: 'race', lists: { a: { ranges: [[0, 1]] } } })));
    const answered = expectAnsweredOrReplaced(answers);
    const rows = await t.hs.sql`SELECT connection_id FROM sliding_sync_connections WHERE user_id = ${alice.userId} AND conn_id = 'race'`;
    expect(rows).toHaveLength(1);
    const known = [];
    for (const p of answered) if ((await post(`?pos=${p}&timeout=0`, { conn_id: 'race' })).status === 200) known.push(p);
    expect(known).toHaveLength(1);
  });

  test('new connections with many conn_ids of one device at once: no 5xx, at most 10 kept', async () => {
    expectAnsweredOrReplaced(await Promise.all(Array.from({ length: 16 }, (_, i) => post('', { conn_id: `many${i}` }))));
    const [{ n }] = await t.hs.sql`SELECT count(*)::int AS n FROM sliding_sync_connections WHERE user_id = ${alice.userId} AND device_id = ${alice.deviceId}`;
    expect(n).toBeLessThanOrEqual(10);
  });
});
