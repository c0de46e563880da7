/**
 * POST /rooms/{roomId}/upgrade over HTTP: the replacement room (predecessor, carried state, bans, aliases, directory),
 * the tombstone and the restricted old room; and the refusals (no power, not a member, a guest, an unknown room or
 * version, a second upgrade, two at once), each of which must leave every table as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { bearer } from '../support/accounts.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, megolm, MEGOLM_ALGORITHM, nextTxnId, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;

beforeAll(async () => ([t, [alice, bob, carol, dave]] = await startWithUsers(4)));
afterAll(() => t.close());

const { createRoom, join, send, setState, sync } = roomHelpers(() => t.http);
const upgrade = (u: { auth: { Authorization: string } }, roomId: string, body: unknown) =>
  t.http.post(`${V3}/rooms/${enc(roomId)}/upgrade`).set(u.auth).send(body as object);
const stateOf = async (u: TestUser, roomId: string, type: string, stateKey = '') => {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`).query({ format: 'event' }).set(u.auth);
  return res.status === 200 ? res.body : undefined;
};
const contentOf = async (u: TestUser, roomId: string, type: string, stateKey = '') => (await stateOf(u, roomId, type, stateKey))?.content;

/** Row counts of every table an upgrade writes: a refused upgrade must leave them all as they were. */
async function counts(): Promise<Record<string, number>> {
  const [row] = await t.hs.sql<Record<string, number>[]>`
    SELECT (SELECT count(*)::int FROM rooms) AS rooms, (SELECT count(*)::int FROM events) AS events,
           (SELECT count(*)::int FROM current_state) AS state, (SELECT count(*)::int FROM published_rooms) AS published,
           (SELECT count(*)::int FROM room_aliases) AS aliases`;
  return row;
}

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

describe('an upgrade', () => {
  let oldRoom: string;
  let newRoom: string;
  let lastBefore: string;
  let oldPowerLevels: Record<string, unknown>;

  beforeAll(async () => {
    // A v10 room (creators listed in the power levels), upgraded to v11: the power levels carry over unchanged.
    oldRoom = await createRoom(alice, {
      room_version: '10', preset: 'public_chat', visibility: 'public', room_alias_name: 'up-main', name: 'Upgrade me', topic: 'Before',
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 50 } },
    });
    await t.http.put(`${V3}/directory/room/${enc('#up-alt:test.local')}`).set(alice.auth).send({ room_id: oldRoom }).expect(200);
    await setState(alice, oldRoom, 'm.room.canonical_alias', '', { alias: '#up-main:test.local', alt_aliases: ['#up-alt:test.local'] });
    await setState(alice, oldRoom, 'm.room.avatar', '', { url: 'mxc://test.local/avatar' });
    await setState(alice, oldRoom, 'm.room.server_acl', '', { allow: ['*'], deny: ['evil.example'], allow_ip_literals: false });
    await setState(alice, oldRoom, 'm.room.guest_access', '', { guest_access: 'can_join' });
    await setState(alice, oldRoom, 'm.room.history_visibility', '', { history_visibility: 'joined' });
    await setState(alice, oldRoom, 'org.example.private_setting', '', { not: 'carried' });
    await join(bob, oldRoom);
    await join(dave, oldRoom);
    await t.http.post(`${V3}/rooms/${enc(oldRoom)}/ban`).set(alice.auth).send({ user_id: dave.userId, reason: 'spam' }).expect(200);
    lastBefore = await send(bob, oldRoom, 'lastwords');
    oldPowerLevels = await contentOf(alice, oldRoom, 'm.room.power_levels');

    const res = await upgrade(alice, oldRoom, { new_version: '11' });
    expect(res.status).toBe(200);
    expectValidResponseById('upgradeRoom', 200, res.body);
    newRoom = res.body.replacement_room;
    expect(newRoom).toMatch(/^!.+:test\.local$/);
    expect(newRoom).not.toBe(oldRoom);
  });

  test('the new room has the requested version, with predecessor (the old room and its last event) and the sender as creator', async () => {
    const create = await stateOf(alice, newRoom, 'm.room.create');
    expect(create.sender).toBe(alice.userId);
    expect(create.content).toEqual({ room_version: '11', predecessor: { room_id: oldRoom, event_id: lastBefore } });
    const [row] = await t.hs.sql<{ roomVersion: string }[]>`SELECT room_version FROM rooms WHERE room_id = ${newRoom}`;
    expect(row.roomVersion).toBe('11');
    const members = await t.http.get(`${V3}/rooms/${enc(newRoom)}/joined_members`).set(alice.auth);
    expect(Object.keys(members.body.joined)).toEqual([alice.userId]);
  });

  test('the state carries over: power levels, join rules, history visibility, encryption, name, topic, avatar, guest access, server ACL', async () => {
    expect(await contentOf(alice, newRoom, 'm.room.power_levels')).toEqual(oldPowerLevels);
    for (const type of ['m.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.name', 'm.room.topic', 'm.room.avatar', 'm.room.server_acl']) {
      expect([type, await contentOf(alice, newRoom, type)]).toEqual([type, await contentOf(alice, oldRoom, type)]);
    }
    expect(await contentOf(alice, newRoom, 'm.room.encryption')).toEqual({ algorithm: MEGOLM_ALGORITHM });
    // State outside the list (sensitive to who sent it) stays behind; so do memberships other than bans.
    expect(await contentOf(alice, newRoom, 'org.example.private_setting')).toBeUndefined();
    expect(await contentOf(alice, newRoom, 'm.room.member', bob.userId)).toBeUndefined();
  });

  test('bans carry over: a banned user cannot use the upgrade to come back', async () => {
    expect(await contentOf(alice, newRoom, 'm.room.member', dave.userId)).toEqual({ membership: 'ban', reason: 'spam' });
    expectError(await t.http.post(`${V3}/join/${enc(newRoom)}`).set(dave.auth).send({}), 403, 'M_FORBIDDEN');
  });

  test('aliases move: they resolve to the new room, the canonical alias moves, the directory lists the new room', async () => {
    for (const alias of ['#up-main:test.local', '#up-alt:test.local']) {
      const res = await t.http.get(`${V3}/directory/room/${enc(alias)}`);
      expect(res.body.room_id).toBe(newRoom);
    }
    expect(await contentOf(alice, newRoom, 'm.room.canonical_alias')).toEqual({ alias: '#up-main:test.local', alt_aliases: ['#up-alt:test.local'] });
    expect(await contentOf(alice, oldRoom, 'm.room.canonical_alias')).toEqual({ alt_aliases: [] });
    expect((await t.http.get(`${V3}/rooms/${enc(newRoom)}/aliases`).set(alice.auth)).body.aliases).toEqual(['#up-alt:test.local', '#up-main:test.local']);
    expect((await t.http.get(`${V3}/directory/list/room/${enc(newRoom)}`)).body.visibility).toBe('public');
    expect((await t.http.get(`${V3}/directory/list/room/${enc(oldRoom)}`)).body.visibility).toBe('private');
  });

  test('the old room has the tombstone and restricted power levels: only those with power still talk or invite', async () => {
    const tombstone = await stateOf(bob, oldRoom, 'm.room.tombstone');
    expect(tombstone.sender).toBe(alice.userId);
    expect(tombstone.content).toEqual({ body: expect.any(String), replacement_room: newRoom });
    const pl = await contentOf(bob, oldRoom, 'm.room.power_levels');
    expect([pl.events_default, pl.invite]).toEqual([50, 50]);
    expect(pl.users).toEqual(oldPowerLevels.users);
    // Bob (50) may still talk; a plain member (carol, 0) may not, nor invite.
    await join(carol, oldRoom);
    expectError(await t.http.put(`${V3}/rooms/${enc(oldRoom)}/send/m.room.encrypted/${nextTxnId()}`).set(carol.auth).send(megolm('x')), 403, 'M_FORBIDDEN');
    expectError(await t.http.post(`${V3}/rooms/${enc(oldRoom)}/invite`).set(carol.auth).send({ user_id: dave.userId }), 403, 'M_FORBIDDEN');
    expect((await t.http.put(`${V3}/rooms/${enc(oldRoom)}/send/m.room.encrypted/${nextTxnId()}`).set(bob.auth).send(megolm('y'))).status).toBe(200);
  });

  test('a member sees the tombstone in /sync and joins the replacement by id with via, as clients do', async () => {
    const body = await sync(bob);
    const events = [...body.rooms.join[oldRoom].state.events, ...body.rooms.join[oldRoom].timeline.events];
    expect(events.find((e: { type: string }) => e.type === 'm.room.tombstone')?.content.replacement_room).toBe(newRoom);
    const res = await t.http.post(`${V3}/join/${enc(newRoom)}`).query({ via: 'test.local' }).set(bob.auth).send({});
    expect([res.status, res.body]).toEqual([200, { room_id: newRoom }]);
    // Bob keeps his level in the new room (the power levels carried over).
    expect((await t.http.put(`${V3}/rooms/${enc(newRoom)}/state/m.room.topic`).set(bob.auth).send({ topic: 'After' })).status).toBe(200);
  });

  test('a second upgrade of the old room is 400 M_BAD_STATE and writes nothing; the replacement can be upgraded', async () => {
    const before = await counts();
    const again = await upgrade(alice, oldRoom, { new_version: '11' });
    expectError(again, 400, 'M_BAD_STATE');
    expect(again.body.error).toContain(newRoom);
    expect(await counts()).toEqual(before);
    const next = await upgrade(alice, newRoom, { new_version: '10' });
    expect(next.status).toBe(200);
    const create = await contentOf(alice, next.body.replacement_room, 'm.room.create');
    expect(create).toEqual({ room_version: '10', creator: alice.userId, predecessor: { room_id: newRoom, event_id: expect.stringMatching(/^\$/) } });
    expect((await t.http.get(`${V3}/directory/room/${enc('#up-main:test.local')}`)).body.room_id).toBe(next.body.replacement_room);
  });
});

describe('refused upgrades write nothing', () => {
  let roomId: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'up-refused' });
    await join(bob, roomId);
  });

  test('a member without the power to send m.room.tombstone: 403', async () => {
    const before = await counts();
    expectError(await upgrade(bob, roomId, { new_version: '11' }), 403, 'M_FORBIDDEN');
    expect(await counts()).toEqual(before);
  });

  test('someone not in the room: 403 (an outsider learns nothing of its state)', async () => {
    const before = await counts();
    expectError(await upgrade(carol, roomId, { new_version: '11' }), 403, 'M_FORBIDDEN');
    expect(await counts()).toEqual(before);
  });

  test('a guest: 403 M_GUEST_ACCESS_FORBIDDEN; no token: 401', async () => {
    const g = await t.http.post(`${V3}/register`).query({ kind: 'guest' }).send({});
    expectError(await upgrade({ auth: bearer(g.body.access_token) }, roomId, { new_version: '11' }), 403, 'M_GUEST_ACCESS_FORBIDDEN');
    expect((await t.http.post(`${V3}/rooms/${enc(roomId)}/upgrade`).send({ new_version: '11' })).status).toBe(401);
  });

  test.each([['99'], ['13'], ['1.0'], ['']])('an unknown or unserved version %j: 400 M_UNSUPPORTED_ROOM_VERSION', async (version) => {
    const before = await counts();
    expectError(await upgrade(alice, roomId, { new_version: version }), 400, 'M_UNSUPPORTED_ROOM_VERSION');
    expect(await counts()).toEqual(before);
  });

  test('an unknown room: 404; a malformed body: 400', async () => {
    expectError(await upgrade(alice, '!nothing:test.local', { new_version: '11' }), 404, 'M_NOT_FOUND');
    expectError(await upgrade(alice, roomId, {}), 400, 'M_MISSING_PARAM');
    expectError(await upgrade(alice, roomId, { new_version: 11 }), 400, 'M_BAD_JSON');
    expectError(await upgrade(alice, roomId, { new_version: '11', additional_creators: ['not a user'] }), 400, 'M_BAD_JSON');
  });

  test('two upgrades at once: one replaces the room, the other is 400 M_BAD_STATE', async () => {
    const room = await createRoom(alice, { preset: 'public_chat' });
    const before = (await counts()).rooms;
    const results = await Promise.all([upgrade(alice, room, { new_version: '11' }), upgrade(alice, room, { new_version: '11' })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expectError(results.find((r) => r.status === 400)!, 400, 'M_BAD_STATE');
    expect((await counts()).rooms).toBe(before + 1);
    const tombstones = await t.hs.sql`SELECT 1 FROM events WHERE room_id = ${room} AND type = 'm.room.tombstone'`;
    expect(tombstones.length).toBe(1);
  });
});

describe('power in odd places', () => {
  test('a moderator who may send the tombstone but not power levels: the copy works, their level stays theirs, the old power levels stay', async () => {
    const roomId = await createRoom(alice, {
      room_version: '10', preset: 'private_chat', invite: [bob.userId],
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 50 }, events: { 'm.room.tombstone': 50, 'm.room.power_levels': 100, 'm.room.encryption': 100, 'm.room.history_visibility': 100 } },
    });
    await join(bob, roomId);
    const oldPl = await contentOf(alice, roomId, 'm.room.power_levels');
    const res = await upgrade(bob, roomId, { new_version: '11' });
    expect(res.status).toBe(200);
    const newRoom = res.body.replacement_room;
    // Bob's temporary level served the copy; the room's real power levels are the last word.
    expect(await contentOf(bob, newRoom, 'm.room.power_levels')).toEqual(oldPl);
    expect(await contentOf(bob, newRoom, 'm.room.history_visibility')).toEqual(await contentOf(alice, roomId, 'm.room.history_visibility'));
    expect(await contentOf(bob, newRoom, 'm.room.join_rules')).toEqual({ join_rule: 'invite' });
    // Bob could not change the old room's power levels: they stay as they were ("if possible"), the tombstone is there.
    expect(await contentOf(alice, roomId, 'm.room.power_levels')).toEqual(oldPl);
    expect((await contentOf(alice, roomId, 'm.room.tombstone')).replacement_room).toBe(newRoom);
    // An invite-only room stays invite-only: alice needs an invite to the new room.
    expectError(await t.http.post(`${V3}/join/${enc(newRoom)}`).set(alice.auth).send({}), 403, 'M_FORBIDDEN');
  });

  test('a space keeps its type and its children', async () => {
    const space = await createRoom(alice, { preset: 'public_chat', creation_content: { type: 'm.space' } });
    const child = await createRoom(alice, { preset: 'public_chat' });
    await setState(alice, space, 'm.space.child', child, { via: ['test.local'], order: 'a' });
    const res = await upgrade(alice, space, { new_version: '11' });
    expect(res.status).toBe(200);
    const created = await contentOf(alice, res.body.replacement_room, 'm.room.create');
    expect(created.type).toBe('m.space');
    expect(await contentOf(alice, res.body.replacement_room, 'm.space.child', child)).toEqual({ via: ['test.local'], order: 'a' });
  });

  test('users_default above 49 restricts the old room to users_default + 1', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', power_level_content_override: { users_default: 60, users: { [alice.userId]: 100 } } });
    const res = await upgrade(alice, roomId, { new_version: '10' });
    expect(res.status).toBe(200);
    const pl = await contentOf(alice, roomId, 'm.room.power_levels');
    expect([pl.events_default, pl.invite]).toEqual([61, 61]);
  });
});

test('tags and the direct-chat listing follow each user who joins the new room (and the sender at once)', async () => {
  const [a, b] = [await registerUser(t), await registerUser(t)];
  const roomId = await createRoom(a, { preset: 'trusted_private_chat', is_direct: true, invite: [b.userId] });
  await join(b, roomId);
  const put = (u: TestUser, path: string, body: unknown) => t.http.put(`${V3}/user/${enc(u.userId)}${path}`).set(u.auth).send(body as object).expect(200);
  await put(a, '/account_data/m.direct', { [b.userId]: [roomId] });
  await put(b, '/account_data/m.direct', { [a.userId]: [roomId], '@someone:test.local': ['!other:test.local'] });
  await put(b, `/rooms/${enc(roomId)}/tags/m.favourite`, { order: 0.5 });
  await put(a, `/rooms/${enc(roomId)}/tags/u.work`, {});
  const since = (await sync(b)).next_batch;

  const res = await upgrade(a, roomId, { new_version: '11' });
  expect(res.status).toBe(200);
  const newRoom = res.body.replacement_room;
  const get = async (u: TestUser, path: string) => (await t.http.get(`${V3}/user/${enc(u.userId)}${path}`).set(u.auth)).body;
  expect(await get(a, '/account_data/m.direct')).toEqual({ [b.userId]: [roomId, newRoom] });
  expect((await get(a, `/rooms/${enc(newRoom)}/tags`)).tags).toEqual({ 'u.work': {} });
  // Bob's settings move only when he joins (the room is invite-only: a invites him, as Element does).
  expect((await get(b, '/account_data/m.direct'))[a.userId]).toEqual([roomId]);
  await t.http.post(`${V3}/rooms/${enc(newRoom)}/invite`).set(a.auth).send({ user_id: b.userId }).expect(200);
  await join(b, newRoom);
  expect(await get(b, '/account_data/m.direct')).toEqual({ [a.userId]: [roomId, newRoom], '@someone:test.local': ['!other:test.local'] });
  expect((await get(b, `/rooms/${enc(newRoom)}/tags`)).tags).toEqual({ 'm.favourite': { order: 0.5 } });
  // His next sync carries both changes.
  const body = await sync(b, { since, timeout: 0 });
  expect(body.account_data.events.find((e: { type: string }) => e.type === 'm.direct')?.content[a.userId]).toEqual([roomId, newRoom]);
  expect(body.rooms.join[newRoom].account_data.events).toEqual([{ type: 'm.tag', content: { tags: { 'm.favourite': { order: 0.5 } } } }]);
  // Joining again (already joined) changes nothing; a room without predecessor carries nothing.
  await join(b, newRoom);
  expect((await get(b, '/account_data/m.direct'))[a.userId]).toEqual([roomId, newRoom]);
});

test('push rules about the old room (a muted room, a room rule) get a copy for the new room when one joins it', async () => {
  const [a, b] = [await registerUser(t), await registerUser(t)];
  const roomId = await createRoom(a, { preset: 'public_chat' });
  await join(b, roomId);
  const rule = (u: TestUser, kind: string, id: string) => `${V3}/pushrules/global/${kind}/${enc(id)}`;
  // Element's "mute": an override rule named by the room id matching it, with no actions; and a room rule, disabled.
  await t.http.put(rule(b, 'override', roomId)).set(b.auth).send({ actions: [], conditions: [{ kind: 'event_match', key: 'room_id', pattern: roomId }] }).expect(200);
  await t.http.put(rule(b, 'room', roomId)).set(b.auth).send({ actions: ['notify'] }).expect(200);
  await t.http.put(`${rule(b, 'room', roomId)}/enabled`).set(b.auth).send({ enabled: false }).expect(200);
  await t.http.put(rule(b, 'override', 'unrelated')).set(b.auth).send({ actions: [], conditions: [{ kind: 'event_match', key: 'type', pattern: 'x.y' }] }).expect(200);

  const newRoom = (await upgrade(a, roomId, { new_version: '11' })).body.replacement_room;
  await join(b, newRoom);
  const muted = await t.http.get(rule(b, 'override', newRoom)).set(b.auth);
  expect([muted.status, muted.body.actions, muted.body.conditions, muted.body.enabled]).toEqual([200, [], [{ kind: 'event_match', key: 'room_id', pattern: newRoom }], true]);
  const roomRule = await t.http.get(rule(b, 'room', newRoom)).set(b.auth);
  expect([roomRule.status, roomRule.body.actions, roomRule.body.enabled]).toEqual([200, ['notify'], false]);
  // The old room's rules stay; nothing else is copied.
  expect((await t.http.get(rule(b, 'override', roomId)).set(b.auth)).status).toBe(200);
  const overrides = (await t.http.get(`${V3}/pushrules/`).set(b.auth)).body.global.override.filter((r: { default: boolean }) => !r.default);
  expect(overrides.map((r: { rule_id: string }) => r.rule_id).sort()).toEqual([newRoom, roomId, 'unrelated'].sort());
});

test('the sender gets the new room in /sync as a join; its member list is the sender alone', async () => {
  const u = await registerUser(t);
  const roomId = await createRoom(u, { preset: 'public_chat', name: 'sync me' });
  const since = (await sync(u)).next_batch;
  const res = await upgrade(u, roomId, { new_version: '11' });
  const body = await sync(u, { since, timeout: 0 });
  const joined = body.rooms.join[res.body.replacement_room];
  expect(joined).toBeDefined();
  const types = [...joined.state.events, ...joined.timeline.events].map((e: { type: string }) => e.type);
  expect(types).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.encryption', 'm.room.name']));
  expect(body.rooms.join[roomId].timeline.events.map((e: { type: string }) => e.type)).toContain('m.room.tombstone');
});

describe('room version 12 (creators with infinite power)', () => {
  test('to 12: the room id is the create event\'s hash, additional_creators are creators, creators leave the power levels', async () => {
    const roomId = await createRoom(alice, {
      preset: 'public_chat', room_version: '10',
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 100, [carol.userId]: 50 } },
    });
    await join(bob, roomId);
    const res = await upgrade(alice, roomId, { new_version: '12', additional_creators: [bob.userId, alice.userId, bob.userId] });
    expect(res.status).toBe(200);
    expectValidResponseById('upgradeRoom', 200, res.body);
    const newRoom: string = res.body.replacement_room;
    expect(newRoom).toMatch(/^![A-Za-z0-9_-]{43}$/);
    const create = await stateOf(alice, newRoom, 'm.room.create');
    expect(create.event_id).toBe(`$${newRoom.slice(1)}`);
    expect(create.content).toEqual({ room_version: '12', predecessor: { room_id: roomId, event_id: expect.stringMatching(/^\$/) }, additional_creators: [bob.userId] });
    const pl = await contentOf(alice, newRoom, 'm.room.power_levels');
    expect(pl.users).toEqual({ [carol.userId]: 50 });
    expect((await stateOf(alice, roomId, 'm.room.tombstone')).content.replacement_room).toBe(newRoom);
    // Bob, an additional creator, joins and has the power of a creator (more than any level).
    await join(bob, newRoom);
    expect((await t.http.put(`${V3}/rooms/${enc(newRoom)}/state/m.room.power_levels`).set(bob.auth).send({ ...pl, users: { [carol.userId]: 100 } })).status).toBe(200);
  });

  test('from 12 to 11: the old creators get the top level of the room in users; additional_creators is ignored for 11', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_version: '12' });
    const res = await upgrade(alice, roomId, { new_version: '11', additional_creators: [bob.userId] });
    expect(res.status).toBe(200);
    const newRoom = res.body.replacement_room;
    expect(newRoom).toMatch(/^!.+:test\.local$/);
    expect((await contentOf(alice, newRoom, 'm.room.create')).additional_creators).toBeUndefined();
    const pl = await contentOf(alice, newRoom, 'm.room.power_levels');
    expect(pl.users[alice.userId]).toBeGreaterThanOrEqual(100);
    expect(pl.users[bob.userId]).toBeUndefined();
  });

  test('12 to 12: upgrading a v12 room needs the tombstone level (creators have it); a plain member gets 403', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_version: '12' });
    await join(bob, roomId);
    expectError(await upgrade(bob, roomId, { new_version: '12' }), 403, 'M_FORBIDDEN');
    const res = await upgrade(alice, roomId, { new_version: '12' });
    expect(res.status).toBe(200);
    expect((await stateOf(alice, res.body.replacement_room, 'm.room.create')).sender).toBe(alice.userId);
  });
});
