/** Membership over HTTP: join, invite, leave, reject, kick, ban, unban, forget, join by alias, member state, guests. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, megolm, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom } = roomHelpers(() => t.http);

async function membershipOf(roomId: string, userId: string): Promise<string | undefined> {
  const [row] = await t.hs.sql<{ membership: string }[]>`
    SELECT membership FROM current_state WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${userId}`;
  return row?.membership;
}

async function eventCount(roomId: string): Promise<number> {
  const [row] = await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId}`;
  return row.n;
}

const post = (user: TestUser, path: string, body: Record<string, unknown> = {}) => t.http.post(`${V3}${path}`).set(user.auth).send(body);

describe('join', () => {
  test('anyone can join a public room, by id or through /join; joining twice writes nothing', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const res = await post(bob, `/rooms/${enc(roomId)}/join`, { reason: 'hello' });
    expect(res.status).toBe(200);
    expectValidResponseById('joinRoomById', 200, res.body);
    expect(res.body.room_id).toBe(roomId);
    expect(await membershipOf(roomId, bob.userId)).toBe('join');
    const [member] = await t.hs.sql<{ content: Record<string, unknown> }[]>`
      SELECT content FROM events WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${bob.userId}`;
    expect(member.content).toMatchObject({ membership: 'join', reason: 'hello' });

    const n = await eventCount(roomId);
    const again = await post(bob, `/join/${enc(roomId)}`);
    expect(again.status).toBe(200);
    expectValidResponseById('joinRoom', 200, again.body);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('an invite-only room refuses an uninvited join with 403 and writes nothing', async () => {
    const roomId = await createRoom(alice, { preset: 'private_chat' });
    const n = await eventCount(roomId);
    const res = await post(bob, `/join/${enc(roomId)}`);
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await eventCount(roomId)).toBe(n);
    expect(await membershipOf(roomId, bob.userId)).toBeUndefined();
  });

  test('joining an unknown room is 404; a malformed id is refused', async () => {
    const res = await post(bob, `/join/${enc('!nope:test.local')}`);
    expect(res.status).toBe(404);
    expectMatrixError(res.body, 'M_NOT_FOUND');
    const bad = await post(bob, `/join/nonsense`);
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expectMatrixError(bad.body);
  });

  test('join by alias; an unknown alias is 404', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'joinme' });
    const res = await post(bob, `/join/${enc('#joinme:test.local')}`);
    expect(res.status).toBe(200);
    expectValidResponseById('joinRoom', 200, res.body);
    expect(res.body.room_id).toBe(roomId);
    expect(await membershipOf(roomId, bob.userId)).toBe('join');
    const unknown = await post(bob, `/join/${enc('#nothere:test.local')}`);
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
  });
});

describe('invite, leave, reject', () => {
  test('invite then join', async () => {
    const roomId = await createRoom(alice);
    const inv = await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId, reason: 'come' });
    expect(inv.status).toBe(200);
    expectValidResponseById('inviteUser', 200, inv.body);
    expect(await membershipOf(roomId, bob.userId)).toBe('invite');
    const join = await post(bob, `/join/${enc(roomId)}`);
    expect(join.status).toBe(200);
    expect(await membershipOf(roomId, bob.userId)).toBe('join');
  });

  test('inviting: an unknown user is 404; a non-member cannot invite; a joined user cannot be invited; nothing written', async () => {
    const roomId = await createRoom(alice);
    const n = await eventCount(roomId);
    const unknown = await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: '@ghost:test.local' });
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
    const outsider = await post(carol, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
    expect(outsider.status).toBe(403);
    expectMatrixError(outsider.body, 'M_FORBIDDEN');
    const self = await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: alice.userId });
    expect(self.status).toBe(403);
    const badBody = await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: 'bob' });
    expect(badBody.status).toBe(400);
    expectMatrixError(badBody.body, 'M_BAD_JSON');
    expect(await eventCount(roomId)).toBe(n);
  });

  test('invite power: with invite at 50, a plain member cannot invite', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', power_level_content_override: { invite: 50 } });
    await post(bob, `/join/${enc(roomId)}`);
    const res = await post(bob, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId });
    expect(res.status).toBe(403);
    expect(await membershipOf(roomId, carol.userId)).toBeUndefined();
  });

  test('leave; leaving a room one is not in is refused', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await post(bob, `/join/${enc(roomId)}`);
    const res = await post(bob, `/rooms/${enc(roomId)}/leave`, { reason: 'bye' });
    expect(res.status).toBe(200);
    expectValidResponseById('leaveRoom', 200, res.body);
    expect(await membershipOf(roomId, bob.userId)).toBe('leave');
    const n = await eventCount(roomId);
    const again = await post(bob, `/rooms/${enc(roomId)}/leave`);
    expect(again.status).toBe(403);
    expectMatrixError(again.body, 'M_FORBIDDEN');
    const unknown = await post(bob, `/rooms/${enc('!nope:test.local')}/leave`);
    expect(unknown.status).toBe(404);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('rejecting an invite is a leave; the invitee can no longer join the invite-only room', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId] });
    const res = await post(bob, `/rooms/${enc(roomId)}/leave`);
    expect(res.status).toBe(200);
    expect(await membershipOf(roomId, bob.userId)).toBe('leave');
    expect((await post(bob, `/join/${enc(roomId)}`)).status).toBe(403);
  });
});

describe('kick, ban, unban', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await post(bob, `/join/${enc(roomId)}`);
    await post(carol, `/join/${enc(roomId)}`);
  });

  test('kicking needs power; a member cannot kick another', async () => {
    const n = await eventCount(roomId);
    const res = await post(bob, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId });
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await eventCount(roomId)).toBe(n);
    expect(await membershipOf(roomId, carol.userId)).toBe('join');
  });

  test('a moderator kicks; the kicked user can rejoin a public room', async () => {
    const res = await post(alice, `/rooms/${enc(roomId)}/kick`, { user_id: carol.userId, reason: 'cool down' });
    expect(res.status).toBe(200);
    expectValidResponseById('kick', 200, res.body);
    const [ev] = await t.hs.sql<{ sender: string; content: Record<string, unknown> }[]>`
      SELECT sender, content FROM events WHERE room_id = ${roomId} AND state_key = ${carol.userId} ORDER BY stream_pos DESC LIMIT 1`;
    expect(ev).toEqual({ sender: alice.userId, content: { membership: 'leave', reason: 'cool down' } });
    expect((await post(carol, `/join/${enc(roomId)}`)).status).toBe(200);
  });

  test('kicking a user who is not in the room is 403 and writes nothing', async () => {
    const dave = await registerUser(t);
    const n = await eventCount(roomId);
    const res = await post(alice, `/rooms/${enc(roomId)}/kick`, { user_id: dave.userId });
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await eventCount(roomId)).toBe(n);
  });

  test('ban: a banned user cannot join; only a moderator bans', async () => {
    const refused = await post(bob, `/rooms/${enc(roomId)}/ban`, { user_id: carol.userId });
    expect(refused.status).toBe(403);
    const res = await post(alice, `/rooms/${enc(roomId)}/ban`, { user_id: carol.userId, reason: 'spam' });
    expect(res.status).toBe(200);
    expectValidResponseById('ban', 200, res.body);
    expect(await membershipOf(roomId, carol.userId)).toBe('ban');
    const n = await eventCount(roomId);
    const join = await post(carol, `/join/${enc(roomId)}`);
    expect(join.status).toBe(403);
    expectMatrixError(join.body, 'M_FORBIDDEN');
    const leave = await post(carol, `/rooms/${enc(roomId)}/leave`);
    expect(leave.status).toBe(403);
    const invite = await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: carol.userId });
    expect(invite.status).toBe(403);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('a user who never was in the room can be banned pre-emptively', async () => {
    const eve = await registerUser(t);
    expect((await post(alice, `/rooms/${enc(roomId)}/ban`, { user_id: eve.userId })).status).toBe(200);
    expect((await post(eve, `/join/${enc(roomId)}`)).status).toBe(403);
  });

  test('unban: needs power and a ban; then the user may join again', async () => {
    const notBanned = await post(alice, `/rooms/${enc(roomId)}/unban`, { user_id: bob.userId });
    expect(notBanned.status).toBe(403);
    const weak = await post(bob, `/rooms/${enc(roomId)}/unban`, { user_id: carol.userId });
    expect(weak.status).toBe(403);
    expect(await membershipOf(roomId, carol.userId)).toBe('ban');
    const res = await post(alice, `/rooms/${enc(roomId)}/unban`, { user_id: carol.userId });
    expect(res.status).toBe(200);
    expectValidResponseById('unban', 200, res.body);
    expect(await membershipOf(roomId, carol.userId)).toBe('leave');
    expect((await post(carol, `/join/${enc(roomId)}`)).status).toBe(200);
  });

  test('kick/ban/unban in an unknown room is 404', async () => {
    for (const op of ['kick', 'ban', 'unban']) {
      const res = await post(alice, `/rooms/${enc('!nope:test.local')}/${op}`, { user_id: bob.userId });
      expect([op, res.status]).toEqual([op, 404]);
    }
  });
});

/** An initial /sync that includes left rooms. */
const leftRoomsOf = async (user: TestUser) => {
  const res = await t.http.get(`${V3}/sync`).query({ filter: JSON.stringify({ room: { include_leave: true } }) }).set(user.auth);
  expect(res.status).toBe(200);
  return Object.keys(res.body.rooms?.leave ?? {});
};

describe('forget', () => {
  test('only after leaving; the room then leaves /sync; joining again brings it back', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await post(bob, `/join/${enc(roomId)}`);
    const early = await post(bob, `/rooms/${enc(roomId)}/forget`);
    expect(early.status).toBe(400);
    expectMatrixError(early.body);
    expect((await t.hs.sql`SELECT 1 FROM forgotten_rooms WHERE room_id = ${roomId}`).length).toBe(0);

    await post(bob, `/rooms/${enc(roomId)}/leave`);
    expect(await leftRoomsOf(bob)).toContain(roomId);
    const res = await post(bob, `/rooms/${enc(roomId)}/forget`);
    expect(res.status).toBe(200);
    expectValidResponseById('forgetRoom', 200, res.body);
    expect(await leftRoomsOf(bob)).not.toContain(roomId);

    await post(bob, `/join/${enc(roomId)}`);
    await post(bob, `/rooms/${enc(roomId)}/leave`);
    expect(await leftRoomsOf(bob)).toContain(roomId);
  });

  test('a room never joined cannot be forgotten', async () => {
    const roomId = await createRoom(alice);
    const res = await post(carol, `/rooms/${enc(roomId)}/forget`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expectMatrixError(res.body);
  });
});

describe('PUT m.room.member state', () => {
  test('a member changes their own display name; nobody sets another user\'s member event to join', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await post(bob, `/join/${enc(roomId)}`);
    const path = `${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`;
    const res = await t.http.put(path).set(bob.auth).send({ membership: 'join', displayname: 'Bobby' });
    expect(res.status).toBe(200);
    expectValidResponseById('setRoomStateWithKey', 200, res.body);
    const get = await t.http.get(path).set(alice.auth);
    expect(get.body).toEqual({ membership: 'join', displayname: 'Bobby' });
    const members = await t.http.get(`${V3}/rooms/${enc(roomId)}/joined_members`).set(alice.auth);
    expect(members.body.joined[bob.userId]).toEqual({ display_name: 'Bobby' });

    const n = await eventCount(roomId);
    const forced = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(carol.userId)}`).set(alice.auth).send({ membership: 'join' });
    expect(forced.status).toBe(403);
    const weird = await t.http.put(path).set(bob.auth).send({ membership: 'dance' });
    expect(weird.status).toBe(403);
    expect(await eventCount(roomId)).toBe(n);
  });

  test('leaving through a member state event works', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await post(bob, `/join/${enc(roomId)}`);
    const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`).set(bob.auth).send({ membership: 'leave' });
    expect(res.status).toBe(200);
    expect(await membershipOf(roomId, bob.userId)).toBe('leave');
  });
});

describe('guests', () => {
  async function guest(): Promise<{ userId: string; auth: { Authorization: string } }> {
    const res = await t.http.post(`${V3}/register`).query({ kind: 'guest' }).send({});
    expect(res.status).toBe(200);
    return { userId: res.body.user_id, auth: { Authorization: `Bearer ${res.body.access_token}` } };
  }

  test('a guest joins a public room whose guest_access is can_join', async () => {
    const g = await guest();
    const roomId = await createRoom(alice, { preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', content: { guest_access: 'can_join' } }] });
    const res = await t.http.post(`${V3}/rooms/${enc(roomId)}/join`).set(g.auth).send({});
    expect(res.status).toBe(200);
    expect(await membershipOf(roomId, g.userId)).toBe('join');
    const sent = await t.http
      .put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/g1`)
      .set(g.auth)
      .send(megolm('guest'));
    expect(sent.status).toBe(200);
  });

  test('a guest cannot join a public room whose guest_access is forbidden (the public_chat default)', async () => {
    const g = await guest();
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const n = await eventCount(roomId);
    const res = await t.http.post(`${V3}/join/${enc(roomId)}`).set(g.auth).send({});
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_GUEST_ACCESS_FORBIDDEN');
    expect(await eventCount(roomId)).toBe(n);
  });

  test('guests cannot create rooms', async () => {
    const g = await guest();
    const res = await t.http.post(`${V3}/createRoom`).set(g.auth).send({});
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_GUEST_ACCESS_FORBIDDEN');
  });
});

describe('knocking', () => {
  test('a user knocks on a knock room, is invited, and joins; knocking on an invite-only room is refused', async () => {
    const owner = await registerUser(t);
    const knocker = await registerUser(t);
    const room = await createRoom(owner, { initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
    const knock = await t.http.post(`${V3}/knock/${enc(room)}`).set(knocker.auth).send({ reason: 'let me in' });
    expect(knock.status).toBe(200);
    expect(knock.body.room_id).toBe(room);
    const invite = await t.http.post(`${V3}/rooms/${enc(room)}/invite`).set(owner.auth).send({ user_id: knocker.userId });
    expect(invite.status).toBe(200);
    expect((await t.http.post(`${V3}/rooms/${enc(room)}/join`).set(knocker.auth).send({})).status).toBe(200);
    const closed = await createRoom(owner);
    const refused = await t.http.post(`${V3}/knock/${enc(closed)}`).set(knocker.auth).send({});
    expect([refused.status, refused.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
  });
});
