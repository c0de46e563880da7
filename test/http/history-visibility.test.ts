/** History visibility over HTTP: what a late joiner, an invitee and a leaver see in /messages, /event and /sync. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;

beforeAll(async () => ([t, [alice]] = await startWithUsers(1)));
afterAll(() => t.close());

const { send, sync } = roomHelpers(() => t.http);
const post = (user: TestUser, path: string, body: Record<string, unknown> = {}) => t.http.post(`${V3}${path}`).set(user.auth).send(body);

/** Event ids of m.room.encrypted events the user sees in /messages (or the status when refused). */
async function visibleInMessages(user: TestUser, roomId: string): Promise<string[] | number> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 100 }).set(user.auth);
  if (res.status !== 200) return res.status;
  expectValidResponseById('getRoomEvents', 200, res.body);
  return res.body.chunk.filter((e: { type: string }) => e.type === 'm.room.encrypted').map((e: { event_id: string }) => e.event_id).reverse();
}
async function canGetEvent(user: TestUser, roomId: string, eventId: string): Promise<boolean> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`).set(user.auth);
  expect([200, 404]).toContain(res.status);
  return res.status === 200;
}
async function visibleInSync(user: TestUser, roomId: string): Promise<string[]> {
  const filter = JSON.stringify({ room: { timeline: { limit: 50, types: ['m.room.encrypted'] }, include_leave: true } });
  const body = await sync(user, { filter });
  const room = body.rooms.join[roomId] ?? body.rooms.leave[roomId];
  return (room?.timeline.events ?? []).map((e: { event_id: string }) => e.event_id);
}

/** A room with the setting, one event before bob is invited, one while invited, one after he joins. */
async function scenario(setting: string) {
  const roomId = (await post(alice, '/createRoom', { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: setting } }] })).body.room_id;
  const bob = await registerUser(t);
  const before = await send(alice, roomId);
  expect((await post(alice, `/rooms/${enc(roomId)}/invite`, { user_id: bob.userId })).status).toBe(200);
  const whileInvited = await send(alice, roomId);
  expect((await post(bob, `/join/${enc(roomId)}`)).status).toBe(200);
  const after = await send(alice, roomId);
  return { roomId, bob, before, whileInvited, after };
}

describe.each([
  ['world_readable', true, true],
  ['shared', true, true],
  ['invited', false, true],
  ['joined', false, false],
])('history_visibility %s', (setting, seesBeforeInvite, seesWhileInvited) => {
  test('a user who joins later sees earlier events accordingly, in /messages, /event and /sync', async () => {
    const s = await scenario(setting);
    const expected = [...(seesBeforeInvite ? [s.before] : []), ...(seesWhileInvited ? [s.whileInvited] : []), s.after];
    expect(await visibleInMessages(s.bob, s.roomId)).toEqual(expected);
    expect(await visibleInSync(s.bob, s.roomId)).toEqual(expected);
    expect(await canGetEvent(s.bob, s.roomId, s.before)).toBe(seesBeforeInvite);
    expect(await canGetEvent(s.bob, s.roomId, s.whileInvited)).toBe(seesWhileInvited);
    expect(await canGetEvent(s.bob, s.roomId, s.after)).toBe(true);
  });

  test('a user who left sees nothing sent after they left', async () => {
    const s = await scenario(setting);
    expect((await post(s.bob, `/rooms/${enc(s.roomId)}/leave`)).status).toBe(200);
    const later = await send(alice, s.roomId);
    const expected = [...(seesBeforeInvite ? [s.before] : []), ...(seesWhileInvited ? [s.whileInvited] : []), s.after];
    if (setting === 'world_readable') {
      // Anyone may read a world-readable room, members or not.
      expect(await visibleInMessages(s.bob, s.roomId)).toEqual([...expected, later]);
      expect(await canGetEvent(s.bob, s.roomId, later)).toBe(true);
      return;
    }
    expect(await visibleInMessages(s.bob, s.roomId)).toEqual(expected);
    expect(await canGetEvent(s.bob, s.roomId, later)).toBe(false);
    expect(await canGetEvent(s.bob, s.roomId, s.after)).toBe(true);
    expect(await visibleInSync(s.bob, s.roomId)).not.toContain(later);
  });
});

describe('outsiders', () => {
  test('world_readable: a non-member reads /messages and /event; other settings: 403 and 404', async () => {
    const carol = await registerUser(t);
    for (const setting of ['world_readable', 'shared']) {
      const roomId = (await post(alice, '/createRoom', { initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: setting } }] })).body.room_id;
      const ev = await send(alice, roomId);
      if (setting === 'world_readable') {
        expect(await visibleInMessages(carol, roomId)).toEqual([ev]);
        expect(await canGetEvent(carol, roomId, ev)).toBe(true);
      } else {
        expect(await visibleInMessages(carol, roomId)).toBe(403);
        expect(await canGetEvent(carol, roomId, ev)).toBe(false);
      }
    }
  });

  test('a change of setting applies from the next event on', async () => {
    const roomId = (await post(alice, '/createRoom', { preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }] })).body.room_id;
    const hidden = await send(alice, roomId);
    expect((await t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.history_visibility`).set(alice.auth).send({ history_visibility: 'shared' })).status).toBe(200);
    const shared = await send(alice, roomId);
    const bob = await registerUser(t);
    await post(bob, `/join/${enc(roomId)}`);
    expect(await visibleInMessages(bob, roomId)).toEqual([shared]);
    expect(await canGetEvent(bob, roomId, hidden)).toBe(false);
  });
});
