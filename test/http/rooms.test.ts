/** POST /createRoom (presets, names, aliases, invites, initial state, overrides, room versions) and GET /joined_rooms. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, MEGOLM_ALGORITHM, roomHelpers, V3 } from '../support/rooms.js';
import { SERVED_ROOM_VERSIONS } from '../../src/relay/rooms/room-versions.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom } = roomHelpers(() => t.http);

/** The room's current state as {type|state_key: event}. */
async function stateOf(user: TestUser, roomId: string): Promise<Map<string, { sender: string; content: Record<string, unknown> }>> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(user.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getRoomState', 200, res.body);
  return new Map(res.body.map((e: { type: string; state_key: string }) => [`${e.type}|${e.state_key}`, e]));
}

async function counts() {
  const [row] = await t.hs.sql<{ rooms: number; events: number; aliases: number }[]>`
    SELECT (SELECT count(*)::int FROM rooms) AS rooms, (SELECT count(*)::int FROM events) AS events,
           (SELECT count(*)::int FROM room_aliases) AS aliases`;
  return row;
}

describe('presets', () => {
  test.each([
    ['public_chat', 'public', 'shared', 'forbidden'],
    ['private_chat', 'invite', 'shared', 'can_join'],
    ['trusted_private_chat', 'invite', 'shared', 'can_join'],
  ])('%s -> join rule %s, history %s, guest access %s', async (preset, joinRule, history, guests) => {
    const roomId = await createRoom(alice, { preset });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.join_rules|')?.content).toEqual({ join_rule: joinRule });
    expect(state.get('m.room.history_visibility|')?.content).toEqual({ history_visibility: history });
    expect(state.get('m.room.guest_access|')?.content).toEqual({ guest_access: guests });
    expect(state.get('m.room.encryption|')?.content).toEqual({ algorithm: MEGOLM_ALGORITHM });
    expect(state.get(`m.room.member|${alice.userId}`)?.content.membership).toBe('join');
    // The default version (12) gives the creator unlimited power without listing them.
    expect(state.get('m.room.power_levels|')?.content.users).toEqual({});
    expect(state.get('m.room.create|')?.sender).toBe(alice.userId);
  });

  test('no preset: visibility public means public_chat, otherwise private_chat', async () => {
    const pub = await stateOf(alice, await createRoom(alice, { visibility: 'public' }));
    expect(pub.get('m.room.join_rules|')?.content.join_rule).toBe('public');
    const priv = await stateOf(alice, await createRoom(alice, {}));
    expect(priv.get('m.room.join_rules|')?.content.join_rule).toBe('invite');
  });

  test('trusted_private_chat gives invitees the creator power level (v12: they are additional creators)', async () => {
    const roomId = await createRoom(alice, { preset: 'trusted_private_chat', invite: [bob.userId] });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.power_levels|')?.content.users).toEqual({});
    expect(state.get('m.room.create|')?.content.additional_creators).toEqual([bob.userId]);
    const v11 = await createRoom(alice, { preset: 'trusted_private_chat', invite: [bob.userId], room_version: '11' });
    const users = (await stateOf(alice, v11)).get('m.room.power_levels|')?.content.users as Record<string, number>;
    expect(users).toEqual({ [alice.userId]: 100, [bob.userId]: 100 });
  });

  test('the events come in the spec order: create, creator join, power levels, ...', async () => {
    const roomId = await createRoom(alice, { preset: 'private_chat', name: 'N', topic: 'T', invite: [bob.userId] });
    const rows = await t.hs.sql<{ type: string; stateKey: string }[]>`SELECT type, state_key FROM events WHERE room_id = ${roomId} ORDER BY stream_pos`;
    const types = rows.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['m.room.create', 'm.room.member', 'm.room.power_levels']);
    expect(types.indexOf('m.room.name')).toBeGreaterThan(types.indexOf('m.room.join_rules'));
    expect(types.indexOf('m.room.topic')).toBeGreaterThan(types.indexOf('m.room.name'));
    expect(rows.at(-1)).toEqual({ type: 'm.room.member', stateKey: bob.userId });
    const depths = await t.hs.sql<{ depth: string }[]>`SELECT depth FROM events WHERE room_id = ${roomId} ORDER BY stream_pos`;
    expect(depths.map((d) => Number(d.depth))).toEqual(depths.map((_, i) => i + 1));
  });
});

describe('name, topic, alias, invites, is_direct', () => {
  test('name and topic become state', async () => {
    const state = await stateOf(alice, await createRoom(alice, { name: 'The room', topic: 'What we talk about' }));
    expect(state.get('m.room.name|')?.content).toEqual({ name: 'The room' });
    expect(state.get('m.room.topic|')?.content).toEqual({ topic: 'What we talk about' });
  });

  test('room_alias_name creates the alias and m.room.canonical_alias; a taken one is 400 M_ROOM_IN_USE and changes nothing', async () => {
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ room_alias_name: 'lobby' });
    expect(res.status).toBe(200);
    const roomId = res.body.room_id;
    const lookup = await t.http.get(`${V3}/directory/room/${enc('#lobby:test.local')}`);
    expect(lookup.body.room_id).toBe(roomId);
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.canonical_alias|')?.content).toEqual({ alias: '#lobby:test.local' });

    const before = await counts();
    const again = await t.http.post(`${V3}/createRoom`).set(bob.auth).send({ room_alias_name: 'lobby' });
    expect(again.status).toBe(400);
    expectMatrixError(again.body, 'M_ROOM_IN_USE');
    expect(await counts()).toEqual(before);
  });

  test('an invalid room_alias_name is refused', async () => {
    const before = await counts();
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ room_alias_name: 'has space' });
    expect(res.status).toBe(400);
    expectMatrixError(res.body);
    expect(await counts()).toEqual(before);
  });

  test('invite sends invites; is_direct marks them; the invitee sees the invite in /sync', async () => {
    const roomId = await createRoom(alice, { invite: [bob.userId, carol.userId], is_direct: true, preset: 'trusted_private_chat' });
    const rows = await t.hs.sql<{ stateKey: string; content: Record<string, unknown> }[]>`
      SELECT state_key, content FROM events WHERE room_id = ${roomId} AND type = 'm.room.member' ORDER BY stream_pos`;
    expect(rows.map((x) => [x.stateKey, x.content.membership])).toEqual([
      [alice.userId, 'join'],
      [bob.userId, 'invite'],
      [carol.userId, 'invite'],
    ]);
    // Spec: is_direct is set on the member events sent to the users in `invite`, not on the creator's join.
    expect(rows[0].content.is_direct).toBeUndefined();
    expect(rows[1].content.is_direct).toBe(true);
    expect(rows[2].content.is_direct).toBe(true);
    const sync = await t.http.get(`${V3}/sync`).set(bob.auth);
    expect(sync.status).toBe(200);
    expect(Object.keys(sync.body.rooms?.invite ?? {})).toContain(roomId);
  });

  test('inviting an unknown user refuses the whole request', async () => {
    const before = await counts();
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ invite: ['@nobody:test.local'] });
    expect(res.status).toBe(404);
    expectMatrixError(res.body, 'M_NOT_FOUND');
    expect(await counts()).toEqual(before);
  });
});

describe('initial_state, overrides, creation_content', () => {
  test('initial_state overrides the preset state', async () => {
    const roomId = await createRoom(alice, {
      preset: 'public_chat',
      initial_state: [
        { type: 'm.room.history_visibility', content: { history_visibility: 'joined' } },
        { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } },
        { type: 'org.example.custom', state_key: 'k', content: { v: 1 } },
      ],
    });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.history_visibility|')?.content).toEqual({ history_visibility: 'joined' });
    expect(state.get('m.room.guest_access|')?.content).toEqual({ guest_access: 'can_join' });
    expect(state.get('org.example.custom|k')?.content).toEqual({ v: 1 });
    expect(state.get('m.room.join_rules|')?.content).toEqual({ join_rule: 'public' });
    // The preset's events that initial_state replaces are not sent at all (Element Web's DMs had two guest_access).
    const n = await t.hs.sql<{ type: string; n: number }[]>`
      SELECT type, count(*)::int AS n FROM events WHERE room_id = ${roomId} AND state_key = '' GROUP BY type`;
    const counts = Object.fromEntries(n.map((r) => [r.type, r.n]));
    expect([counts['m.room.history_visibility'], counts['m.room.guest_access'], counts['m.room.join_rules']]).toEqual([1, 1, 1]);
  });

  test('initial_state may set Megolm encryption with its own rotation settings', async () => {
    const content = { algorithm: MEGOLM_ALGORITHM, rotation_period_ms: 604800000, rotation_period_msgs: 100 };
    const roomId = await createRoom(alice, { initial_state: [{ type: 'm.room.encryption', state_key: '', content }] });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.encryption|')?.content).toEqual(content);
    const n = await t.hs.sql`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId} AND type = 'm.room.encryption'`;
    expect(n[0].n).toBe(1);
  });

  test('initial_state with another encryption algorithm is 403 and no room is created', async () => {
    const before = await counts();
    const res = await t.http
      .post(`${V3}/createRoom`)
      .set(alice.auth)
      .send({ room_alias_name: 'never', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.olm.v1.curve25519-aes-sha2' } }] });
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
    expect(await counts()).toEqual(before);
  });

  test('initial_state cannot carry encryption off (no algorithm)', async () => {
    const before = await counts();
    const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ initial_state: [{ type: 'm.room.encryption', content: {} }] });
    expect(res.status).toBe(403);
    expect(await counts()).toEqual(before);
  });

  test('power_level_content_override is applied on top of the defaults', async () => {
    const roomId = await createRoom(alice, { power_level_content_override: { events_default: 10, kick: 75, users: { [alice.userId]: 100, [bob.userId]: 60 } } });
    const pl = (await stateOf(alice, roomId)).get('m.room.power_levels|')?.content;
    // In the default version (12) the creator's entry is dropped: creators are never listed.
    expect(pl).toMatchObject({ events_default: 10, kick: 75, ban: 50, users: { [bob.userId]: 60 } });
    const v11 = await createRoom(alice, { room_version: '11', power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 60 } } });
    expect((await stateOf(alice, v11)).get('m.room.power_levels|')?.content.users).toEqual({ [alice.userId]: 100, [bob.userId]: 60 });
  });

  test('creation_content is kept; room_version cannot be overridden through it', async () => {
    const roomId = await createRoom(alice, { room_version: '11', creation_content: { 'm.federate': false, type: 'org.example.space', room_version: '1' } });
    const create11 = (await stateOf(alice, roomId)).get('m.room.create|');
    expect(create11?.content).toEqual({ 'm.federate': false, type: 'org.example.space', room_version: '11' });
    expect(create11?.sender).toBe(alice.userId);
  });
});

describe('room versions', () => {
  test('version 10 names the creator in m.room.create; version 11 does not', async () => {
    const v10 = (await stateOf(alice, await createRoom(alice, { room_version: '10' }))).get('m.room.create|');
    expect(v10?.content).toEqual({ room_version: '10', creator: alice.userId });
    const v11 = (await stateOf(alice, await createRoom(alice, { room_version: '11' }))).get('m.room.create|');
    expect(v11?.content).toEqual({ room_version: '11' });
  });

  test('the default version is one the server supports, with Megolm', async () => {
    const state = await stateOf(alice, await createRoom(alice, {}));
    expect(Object.keys(SERVED_ROOM_VERSIONS)).toContain(state.get('m.room.create|')?.content.room_version);
    expect(state.get('m.room.encryption|')?.content).toEqual({ algorithm: MEGOLM_ALGORITHM });
  });

  test('an unsupported version is 400 M_UNSUPPORTED_ROOM_VERSION and creates nothing', async () => {
    const before = await counts();
    for (const room_version of ['0', '13', '99', '1.0', 'org.example.v']) {
      const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ room_version });
      expect(res.status).toBe(400);
      expectMatrixError(res.body, 'M_UNSUPPORTED_ROOM_VERSION');
    }
    expect(await counts()).toEqual(before);
  });
});

describe('bad requests', () => {
  test('a body that is not JSON is M_NOT_JSON; a wrong shape is M_BAD_JSON; nothing is created', async () => {
    const before = await counts();
    const notJson = await t.http.post(`${V3}/createRoom`).set(alice.auth).set('Content-Type', 'application/json').send('{not json');
    expect(notJson.status).toBe(400);
    expectMatrixError(notJson.body, 'M_NOT_JSON');
    const array = await t.http.post(`${V3}/createRoom`).set(alice.auth).send([1, 2]);
    expect(array.status).toBe(400);
    expectMatrixError(array.body, 'M_NOT_JSON');
    for (const body of [
      { preset: 'everyone' },
      { name: 5 },
      { invite: ['not-a-user-id'] },
      { invite: 'x' },
      { initial_state: [{ type: 'm.room.power_levels', state_key: '', content: {} }] },
      { initial_state: [{ type: 'm.room.member', state_key: alice.userId, content: { membership: 'join' } }] },
      { is_direct: 'yes' },
      { creation_content: [] },
    ]) {
      const res = await t.http.post(`${V3}/createRoom`).set(alice.auth).send(body);
      expect([res.status, JSON.stringify(body)]).toEqual([400, JSON.stringify(body)]);
      expectMatrixError(res.body, 'M_BAD_JSON');
    }
    const missing = await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ initial_state: [{ state_key: '' }] });
    expect(missing.status).toBe(400);
    expectMatrixError(missing.body, 'M_MISSING_PARAM');
    expect(await counts()).toEqual(before);
  });

  test('without a token: 401 M_MISSING_TOKEN', async () => {
    const res = await t.http.post(`${V3}/createRoom`).send({});
    expect(res.status).toBe(401);
    expectMatrixError(res.body, 'M_MISSING_TOKEN');
  });
});

describe('joined_rooms', () => {
  test('lists the rooms the user is joined to, not invited or left ones', async () => {
    const dave = await registerUser(t);
    const empty = await t.http.get(`${V3}/joined_rooms`).set(dave.auth);
    expect(empty.status).toBe(200);
    expectValidResponseById('getJoinedRooms', 200, empty.body);
    expect(empty.body.joined_rooms).toEqual([]);
    const mine = await createRoom(dave, {});
    const invitedTo = await createRoom(alice, { invite: [dave.userId] });
    const left = await createRoom(dave, {});
    expect((await t.http.post(`${V3}/rooms/${enc(left)}/leave`).set(dave.auth).send({})).status).toBe(200);
    const res = await t.http.get(`${V3}/joined_rooms`).set(dave.auth);
    expectValidResponseById('getJoinedRooms', 200, res.body);
    expect(res.body.joined_rooms).toEqual([mine]);
    expect(res.body.joined_rooms).not.toContain(invitedTo);
  });
});
