/**
 * Per-user rate limits on what can be abused: room sends, room creation, invites, to-device messages, key claims,
 * directory searches; and one-time keys, where a claim over the limit gets the device's fallback key instead of
 * draining its one-time keys. Each limit answers 429 M_LIMIT_EXCEEDED with retry_after_ms, is per requester, and
 * RATE_LIMITS=off switches every one off.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Response } from 'supertest';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { makeDeviceKeys, oneTimeKeys } from '../support/device-keys.js';
import type { Config } from '../../src/config.js';
import { enc, megolm, V3 } from '../support/rooms.js';


/** Small limits, so that each trips after a few requests. */
const SMALL: Partial<Config> = {
  roomSendRatePerMinute: 3,
  roomCreateRatePerMinute: 3,
  inviteRatePerMinute: 3,
  toDeviceRatePerMinute: 4,
  keyClaimRatePerMinute: 4,
  directorySearchRatePerMinute: 3,
  oneTimeKeysPerClaimerPerHour: 2,
  oneTimeKeysPerDevicePerHour: 3,
};

let limited: TestServer;
let unlimited: TestServer;
beforeAll(async () => {
  [limited, unlimited] = await Promise.all([startTestServer({ rateLimits: true, loginRatePerMinute: 1000, registerRatePerMinute: 1000, ...SMALL }), startTestServer({ rateLimits: false, ...SMALL })]);
});
afterAll(() => Promise.all([limited, unlimited].map((t) => t?.close())));

function expectLimited(res: Response): void {
  expect([res.status, res.body.errcode]).toEqual([429, 'M_LIMIT_EXCEEDED']);
  expect(Number.isInteger(res.body.retry_after_ms)).toBe(true);
  expect(res.body.retry_after_ms).toBeGreaterThan(0);
  expect(res.body.retry_after_ms).toBeLessThanOrEqual(3_600_000);
  expect(Number(res.headers['retry-after'])).toBe(Math.max(1, Math.ceil(res.body.retry_after_ms / 1000)));
}

const encrypted = megolm('limits');
let txn = 0;

/** Each abusable operation, as one request by `u` (in `room` where it needs one; `other` a second user). */
const operations: Record<string, (t: TestServer, u: TestUser, room: string, other: TestUser) => Promise<Response>> = {
  'room sends': (t, u, room) => t.http.put(`${V3}/rooms/${enc(room)}/send/m.room.encrypted/t${++txn}`).set(u.auth).send(encrypted),
  'room creation': (t, u) => t.http.post(`${V3}/createRoom`).set(u.auth).send({}),
  invites: async (t, u, room) => {
    const invitee = await registerUser(t);
    return t.http.post(`${V3}/rooms/${enc(room)}/invite`).set(u.auth).send({ user_id: invitee.userId });
  },
  'to-device messages': (t, u, _room, other) => t.http.put(`${V3}/sendToDevice/m.dummy/d${++txn}`).set(u.auth).send({ messages: { [other.userId]: { [other.deviceId]: {} } } }),
  'key claims': (t, u, _room, other) => t.http.post(`${V3}/keys/claim`).set(u.auth).send({ one_time_keys: { [other.userId]: { [other.deviceId]: 'signed_curve25519' } } }),
  'room directory searches': (t, u) => t.http.post(`${V3}/publicRooms`).set(u.auth).send({ filter: { generic_search_term: 'x' } }),
  'user directory searches': (t, u) => t.http.post(`${V3}/user_directory/search`).set(u.auth).send({ search_term: 'x' }),
};
const LIMIT: Record<string, number> = {
  'room sends': 3, 'room creation': 3, invites: 3, 'to-device messages': 4, 'key claims': 4, 'room directory searches': 3, 'user directory searches': 3,
};

async function setUp(t: TestServer) {
  const [u, other, bystander] = [await registerUser(t), await registerUser(t), await registerUser(t)];
  const room = (await t.http.post(`${V3}/createRoom`).set(bystander.auth).send({ preset: 'public_chat' })).body.room_id;
  for (const member of [u, other]) await t.http.post(`${V3}/join/${enc(room)}`).set(member.auth).send({});
  return { u, other, bystander, room };
}

describe('RATE_LIMITS on: each limit trips, per requester', () => {
  test.each(Object.keys(operations))('%s', async (name) => {
    const { u, other, bystander, room } = await setUp(limited);
    const op = operations[name];
    for (let i = 0; i < LIMIT[name]; i++) expect((await op(limited, u, room, other)).status).toBe(200);
    expectLimited(await op(limited, u, room, other));
    // Another user is not affected.
    expect((await op(limited, bystander, room, other)).status).toBe(200);
  });

  test('the room and user directory searches share one limit', async () => {
    const { u, other, room } = await setUp(limited);
    for (let i = 0; i < 2; i++) expect((await operations['room directory searches'](limited, u, room, other)).status).toBe(200);
    expect((await operations['user directory searches'](limited, u, room, other)).status).toBe(200);
    expectLimited(await operations['user directory searches'](limited, u, room, other));
    // Without a token, the client address is the requester.
    expect((await limited.http.get(`${V3}/publicRooms`)).status).toBe(200);
  });

  test("createRoom's invite list and PUT of an invite member event count as invites; a refused createRoom creates nothing", async () => {
    const { u } = await setUp(limited);
    const invitees = [];
    for (let i = 0; i < 5; i++) invitees.push(await registerUser(limited));
    const created = await limited.http.post(`${V3}/createRoom`).set(u.auth).send({ invite: invitees.slice(0, 3).map((i) => i.userId) });
    expect(created.status).toBe(200);
    const putInvite = await limited.http.put(`${V3}/rooms/${enc(created.body.room_id)}/state/m.room.member/${enc(invitees[3].userId)}`).set(u.auth).send({ membership: 'invite' });
    expectLimited(putInvite);
    const rooms = (await limited.hs.sql`SELECT count(*)::int AS n FROM rooms`)[0].n;
    expectLimited(await limited.http.post(`${V3}/createRoom`).set(u.auth).send({ invite: [invitees[4].userId] }));
    expect((await limited.hs.sql`SELECT count(*)::int AS n FROM rooms`)[0].n).toBe(rooms);
  });

  test('to-device messages count one per recipient device', async () => {
    const { u, other } = await setUp(limited);
    const five = { [other.userId]: Object.fromEntries(['A', 'B', 'C', 'D', 'E'].map((d) => [d, {}])) };
    // Bigger than a whole window: it takes the whole window, so it passes on a fresh one and then the next is refused.
    expect((await limited.http.put(`${V3}/sendToDevice/m.dummy/big${++txn}`).set(u.auth).send({ messages: five })).status).toBe(200);
    expectLimited(await limited.http.put(`${V3}/sendToDevice/m.dummy/big${++txn}`).set(u.auth).send({ messages: { [other.userId]: { '*': {} } } }));
  });
});

describe('one-time keys cannot be drained', () => {
  async function deviceWithKeys(t: TestServer, n: number) {
    const owner = await registerUser(t);
    const keys = makeDeviceKeys(owner.userId, owner.deviceId);
    const fallback = { 'signed_curve25519:FALLBACK': keys.sign({ key: 'ZmFsbGJhY2s', fallback: true }) };
    await t.http.post(`${V3}/keys/upload`).set(owner.auth).send({ device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, n), fallback_keys: fallback });
    return owner;
  }
  const claim = async (t: TestServer, u: TestUser, target: TestUser): Promise<string> => {
    const res = await t.http.post(`${V3}/keys/claim`).set(u.auth).send({ one_time_keys: { [target.userId]: { [target.deviceId]: 'signed_curve25519' } } });
    expect(res.status).toBe(200);
    return Object.keys(res.body.one_time_keys[target.userId][target.deviceId])[0];
  };
  const remaining = async (t: TestServer, owner: TestUser) =>
    (await t.hs.sql`SELECT count(*)::int AS n FROM one_time_keys WHERE user_id = ${owner.userId} AND device_id = ${owner.deviceId}`)[0].n as number;

  test("one user gets a few of a device's one-time keys, then its fallback key; the others stay for everyone else", async () => {
    const owner = await deviceWithKeys(limited, 10);
    const [mallory, alice] = [await registerUser(limited), await registerUser(limited)];
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await claim(limited, mallory, owner));
    expect(got).toEqual(['signed_curve25519:AAAA0', 'signed_curve25519:AAAA1', 'signed_curve25519:FALLBACK']);
    expect(await remaining(limited, owner)).toBe(8);
    // Another user still gets a one-time key.
    expect(await claim(limited, alice, owner)).toBe('signed_curve25519:AAAA2');
    // All users together take at most 3 an hour from one device: the fourth claimer gets the fallback key.
    expect(await claim(limited, await registerUser(limited), owner)).toBe('signed_curve25519:FALLBACK');
    expect(await remaining(limited, owner)).toBe(7);
  });

  test('without the limits (RATE_LIMITS=off), claims take one-time keys until none is left', async () => {
    const owner = await deviceWithKeys(unlimited, 3);
    const mallory = await registerUser(unlimited);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await claim(unlimited, mallory, owner));
    expect(got).toEqual(['signed_curve25519:AAAA0', 'signed_curve25519:AAAA1', 'signed_curve25519:AAAA2', 'signed_curve25519:FALLBACK']);
  });
});

describe('RATE_LIMITS off', () => {
  test.each(Object.keys(operations))('%s: no limit applies', async (name) => {
    const { u, other, room } = await setUp(unlimited);
    for (let i = 0; i < LIMIT[name] + 3; i++) expect((await operations[name](unlimited, u, room, other)).status).toBe(200);
  });
});
