/**
 * Guest access through every way into a room: both join endpoints, PUT of one's own m.room.member (join or knock),
 * an accepted invite and a knock. A guest enters only rooms whose m.room.guest_access is can_join; a refused try
 * writes no event. When a room turns guests away, the guests in it leave; an upgraded guest is a full user.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { bearer } from '../support/accounts.js';
import { enc, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;

interface Guest {
  userId: string;
  token: string;
  auth: { Authorization: string };
}

async function guest(): Promise<Guest> {
  const res = await t.http.post(`${V3}/register`).query({ kind: 'guest' }).send({});
  expect(res.status).toBe(200);
  return { userId: res.body.user_id, token: res.body.access_token, auth: bearer(res.body.access_token) };
}

async function room(guestAccess: Record<string, unknown>, joinRule = 'public'): Promise<string> {
  const initial_state = [{ type: 'm.room.join_rules', content: { join_rule: joinRule } }, { type: 'm.room.guest_access', content: guestAccess }];
  const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ initial_state });
  expect(res.status).toBe(200);
  return res.body.room_id;
}

const eventCount = async (roomId: string) => (await t.hs.sql`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId}`)[0].n as number;
const membership = async (roomId: string, userId: string) =>
  (await t.hs.sql`SELECT membership FROM current_state WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${userId}`)[0]?.membership;

/** Every way a guest might enter a room, as (name, request). */
const entries: [string, (g: Guest, roomId: string) => Promise<{ status: number; body: { errcode?: string } }>][] = [
  ['POST /rooms/{roomId}/join', (g, roomId) => t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(g.auth).send({})],
  ['POST /join/{roomIdOrAlias}', (g, roomId) => t.http.post(`${V3}/join/${enc(roomId)}`).set(g.auth).send({})],
  ['PUT /state/m.room.member/{self} join', (g, roomId) => t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(g.userId)}`).set(g.auth).send({ membership: 'join' })],
  ['PUT /state/m.room.member/{self} knock', (g, roomId) => t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(g.userId)}`).set(g.auth).send({ membership: 'knock' })],
  ['POST /knock/{roomIdOrAlias}', (g, roomId) => t.http.post(`${V3}/knock/${enc(roomId)}`).set(g.auth).send({})],
];

beforeAll(async () => {
  t = await startTestServer();
  alice = await registerUser(t, 'alice');
});
afterAll(() => t.close());

describe('a guest cannot enter a room that does not allow guests, by any way', () => {
  const settings: [string, Record<string, unknown>][] = [
    ['forbidden', { guest_access: 'forbidden' }],
    ['without a value', {}],
    ['a wrong value', { guest_access: 'CAN_JOIN' }],
  ];
  for (const [settingName, setting] of settings) {
    test.each(entries)(`guest_access ${settingName}: %s is refused and writes nothing`, async (_name, enter) => {
      const g = await guest();
      for (const joinRule of ['public', 'knock']) {
        const roomId = await room(setting, joinRule);
        const before = await eventCount(roomId);
        const res = await enter(g, roomId);
        expect(res.status).toBe(403);
        expect(res.body.errcode).toBe('M_GUEST_ACCESS_FORBIDDEN');
        expect(await eventCount(roomId)).toBe(before);
        expect(await membership(roomId, g.userId)).toBeUndefined();
      }
    });
  }

  test('an invited guest still cannot join (accepting the invite) by any endpoint', async () => {
    const g = await guest();
    const roomId = await room({ guest_access: 'forbidden' }, 'invite');
    expect((await t.http.post(`${V3}/rooms/${enc(roomId)}/invite`).set(alice.auth).send({ user_id: g.userId })).status).toBe(200);
    const before = await eventCount(roomId);
    for (const [, enter] of entries.slice(0, 3)) {
      const res = await enter(g, roomId);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    }
    expect(await eventCount(roomId)).toBe(before);
    expect(await membership(roomId, g.userId)).toBe('invite');
    // Rejecting the invite is always possible.
    expect((await t.http.post(`${V3}/rooms/${enc(roomId)}/leave`).set(g.auth).send({})).status).toBe(200);
  });
});

describe('where guests are welcome', () => {
  test.each(entries.filter(([name]) => name.includes('join')))('guest_access can_join: %s lets the guest in', async (_name, enter) => {
    const g = await guest();
    const roomId = await room({ guest_access: 'can_join' });
    const res = await enter(g, roomId);
    expect(res.status).toBe(200);
    expect(await membership(roomId, g.userId)).toBe('join');
  });

  test('a guest joins by alias with POST /join/{roomIdOrAlias} (what clients call), with via', async () => {
    const g = await guest();
    const roomId = await room({ guest_access: 'can_join' });
    const alias = `#guests-${Date.now()}:${t.hs.config.serverName}`;
    expect((await t.http.put(`${V3}/directory/room/${enc(alias)}`).set(alice.auth).send({ room_id: roomId })).status).toBe(200);
    const res = await t.http.post(`${V3}/join/${enc(alias)}`).query({ via: t.hs.config.serverName }).set(g.auth).send({});
    expect([res.status, res.body]).toEqual([200, { room_id: roomId }]);
    expect(await membership(roomId, g.userId)).toBe('join');
  });

  test('when the room turns guests away, the guests in it leave (full members stay) and cannot come back', async () => {
    const [g1, g2] = [await guest(), await guest()];
    const member = await registerUser(t);
    const roomId = await room({ guest_access: 'can_join' });
    for (const u of [g1, g2, member]) expect((await t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(u.auth).send({})).status).toBe(200);
    const since = (await t.http.get(`${V3}/sync`).set(member.auth)).body.next_batch;
    const turned = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.guest_access`).set(alice.auth).send({ guest_access: 'forbidden' });
    expect(turned.status).toBe(200);
    expect([await membership(roomId, g1.userId), await membership(roomId, g2.userId), await membership(roomId, member.userId)]).toEqual(['leave', 'leave', 'join']);
    // Each guest leaves by its own leave event, right after the change; the other members see it.
    const timeline = (await t.http.get(`${V3}/sync`).query({ since, timeout: 0 }).set(member.auth)).body.rooms.join[roomId].timeline.events;
    const tail = timeline.slice(-3).map((e: { type: string; sender: string; state_key: string; content: { membership?: string } }) => [e.type, e.sender, e.state_key, e.content.membership]);
    expect(tail[0]).toEqual(['m.room.guest_access', alice.userId, '', undefined]);
    expect(tail.slice(1)).toEqual(expect.arrayContaining([g1, g2].map((g) => ['m.room.member', g.userId, g.userId, 'leave'])));
    const back = await t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(g1.auth).send({});
    expect([back.status, back.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    // Setting it again (no guests left) changes nothing else.
    expect((await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.guest_access`).set(alice.auth).send({ guest_access: 'forbidden' })).status).toBe(200);
  });

  test('an upgraded guest is a full user and joins rooms that turn guests away', async () => {
    const g = await guest();
    const first = await t.http.post(`${V3}/register`).set(g.auth).send({ password: 'a long enough password' });
    expect(first.status).toBe(401);
    const up = await t.http.post(`${V3}/register`).set(g.auth)
      .send({ password: 'a long enough password', auth: { type: 'm.login.dummy', session: first.body.session } });
    expect(up.status).toBe(200);
    const roomId = await room({ guest_access: 'forbidden' });
    const res = await t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(bearer(up.body.access_token)).send({});
    expect(res.status).toBe(200);
  });
});
