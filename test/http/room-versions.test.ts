/**
 * Room versions 1 to 12 through the HTTP API: for each version, a room is created, carries state and Megolm
 * messages, and has events redacted; the event id format, the room id format, the redaction algorithm and the
 * authorization rules that differ between versions are checked as a client sees them.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, megolm, roomHelpers, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;
const SERVER = 'test.local';

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const rooms = roomHelpers(() => t.http);
const VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'];
const n = Number;

/** The event id format of each version: `$opaque:server` (v1-2), `$` + base64 sha256 (v3), url-safe (v4+). */
function eventIdPattern(version: string): RegExp {
  if (n(version) <= 2) return /^\$[A-Za-z0-9_-]+:test\.local$/;
  if (n(version) === 3) return /^\$[A-Za-z0-9+/]{43}$/;
  return /^\$[A-Za-z0-9_-]{43}$/;
}

type Event = { event_id: string; type: string; state_key?: string; sender: string; content: Record<string, any>; redacts?: string; unsigned?: Record<string, any> };

async function getEvent(u: TestUser, roomId: string, eventId: string): Promise<Event> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`).set(u.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getOneRoomEvent', 200, res.body);
  return res.body as Event;
}

async function stateOf(u: TestUser, roomId: string): Promise<Map<string, Event>> {
  const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(u.auth);
  expect(res.status).toBe(200);
  return new Map((res.body as Event[]).map((e) => [`${e.type}|${e.state_key}`, e]));
}

const putState = (u: TestUser, roomId: string, type: string, stateKey: string, content: Record<string, unknown>) =>
  t.http.put(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`).set(u.auth).send(content);

describe.each(VERSIONS)('room version %s', (version) => {
  let roomId: string;
  let state: Map<string, Event>;

  beforeAll(async () => {
    roomId = await rooms.createRoom(alice, { room_version: version, preset: 'public_chat', name: `v${version}` });
    await rooms.join(bob, roomId);
    state = await stateOf(alice, roomId);
  });

  test('the room id and the create event follow the version', async () => {
    const create = state.get('m.room.create|')!;
    expect(create.content.room_version).toBe(version);
    expect(create.sender).toBe(alice.userId);
    if (n(version) <= 10) expect(create.content.creator).toBe(alice.userId);
    else expect(create.content).not.toHaveProperty('creator');
    if (n(version) >= 12) {
      // The room id is the create event's reference hash, without a server part.
      expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
      expect(create.event_id).toBe(`$${roomId.slice(1)}`);
    } else {
      expect(roomId).toMatch(/^![A-Za-z0-9]+:test\.local$/);
    }
    const [row] = await t.hs.sql<{ roomVersion: string }[]>`SELECT room_version FROM rooms WHERE room_id = ${roomId}`;
    expect(row?.roomVersion).toBe(version);
  });

  test('power levels: the creator listed with 100 up to v11; from v12 unlisted (infinite) and m.room.tombstone at 150', async () => {
    const pl = state.get('m.room.power_levels|')!.content;
    if (n(version) >= 12) {
      expect(pl.users).toEqual({});
      expect(pl.events['m.room.tombstone']).toBe(150);
    } else {
      expect(pl.users).toEqual({ [alice.userId]: 100 });
      expect(pl.events['m.room.tombstone']).toBe(100);
    }
  });

  test('every event id has the version format; Megolm messages and state go through', async () => {
    const message = await rooms.send(bob, roomId, `v${version}`);
    const topic = await rooms.setState(alice, roomId, 'm.room.topic', '', { topic: 'hello' });
    for (const id of [message, topic, ...[...state.values()].map((e) => e.event_id)]) {
      if (n(version) >= 12 && id === state.get('m.room.create|')!.event_id) continue; // the hash itself, checked above
      expect(id).toMatch(eventIdPattern(version));
    }
    expect((await getEvent(alice, roomId, message)).content).toEqual(megolm(`v${version}`));
    // A sync shows the room under its id, with the messages.
    const sync = await rooms.sync(bob, { filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) });
    const ids = sync.rooms.join[roomId].timeline.events.map((e: Event) => e.event_id);
    expect(ids).toEqual(expect.arrayContaining([message, topic]));
  });

  test('redaction: a message loses its ciphertext; the redaction names the event as the version says', async () => {
    const message = await rooms.send(bob, roomId, 'toRedact');
    const redaction = await rooms.redact(alice, roomId, message, { reason: 'spam' });
    expect(redaction).toMatch(eventIdPattern(version));
    const redacted = await getEvent(bob, roomId, message);
    expect(redacted.content).toEqual({});
    expect(redacted.unsigned?.redacted_because?.event_id).toBe(redaction);
    const event = await getEvent(bob, roomId, redaction);
    if (n(version) >= 11) {
      expect(event.content).toEqual({ redacts: message, reason: 'spam' });
      // Copied to the top level for clients that read it there (matrix-js-sdk does), as the spec asks.
      expect(event.redacts).toBe(message);
    } else {
      expect(event.redacts).toBe(message);
      expect(event.content).toEqual({ reason: 'spam' });
    }
    // Bob (0) may redact his own message, not Alice's: "Handling redactions" in every version.
    await rooms.redact(bob, roomId, await rooms.send(bob, roomId, 'mine'));
    const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(await rooms.send(alice, roomId, 'hers'))}/txn-${version}`).set(bob.auth).send({});
    expect(res.status).toBe(403);
    expectMatrixError(res.body, 'M_FORBIDDEN');
  });

  test('redaction of state keeps the keys of the version algorithm', async () => {
    // join_rules keeps `allow` from v8; power levels keep `invite` from v11; m.room.aliases keeps `aliases` up to v5.
    const allow = [{ type: 'm.room_membership', room_id: '!elsewhere:test.local' }];
    const joinRules = await rooms.setState(alice, roomId, 'm.room.join_rules', '', { join_rule: 'public', allow });
    await rooms.redact(alice, roomId, joinRules);
    expect((await getEvent(alice, roomId, joinRules)).content).toEqual(n(version) >= 8 ? { join_rule: 'public', allow } : { join_rule: 'public' });

    const aliases = await rooms.setState(alice, roomId, 'm.room.aliases', SERVER, { aliases: [`#v${version}:${SERVER}`] });
    await rooms.redact(alice, roomId, aliases);
    expect((await getEvent(alice, roomId, aliases)).content).toEqual(n(version) <= 5 ? { aliases: [`#v${version}:${SERVER}`] } : {});

    const member = await rooms.setState(bob, roomId, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Bob' });
    await rooms.redact(alice, roomId, member);
    expect((await getEvent(alice, roomId, member)).content).toEqual({ membership: 'join' });

    const pl = state.get('m.room.power_levels|')!.content;
    const plId = await rooms.setState(alice, roomId, 'm.room.power_levels', '', { ...pl, invite: 0, notifications: { room: 50 } });
    await rooms.redact(alice, roomId, plId);
    const redactedPl = (await getEvent(alice, roomId, plId)).content;
    expect(redactedPl).not.toHaveProperty('notifications');
    expect(redactedPl).not.toHaveProperty('historical');
    if (n(version) >= 11) expect(redactedPl.invite).toBe(0);
    else expect(redactedPl).not.toHaveProperty('invite');
    // The redacted power levels are the room's: Alice still runs it (listed, or a v12 creator).
    await rooms.setState(alice, roomId, 'm.room.power_levels', '', pl);
  });

  test('string power levels: accepted (and read as numbers) up to v9, refused from v10', async () => {
    const pl = (await stateOf(alice, roomId)).get('m.room.power_levels|')!.content;
    const res = await putState(alice, roomId, 'm.room.power_levels', '', { ...pl, kick: '40', users: { ...pl.users, [bob.userId]: '40' } });
    if (n(version) <= 9) {
      expect(res.status).toBe(200);
      // Bob at "40" may now kick Carol (0), at the "40" kick level.
      await rooms.join(carol, roomId);
      const kick = await t.http.post(`${V3}/rooms/${enc(roomId)}/kick`).set(bob.auth).send({ user_id: carol.userId });
      expect(kick.status).toBe(200);
    } else {
      expect(res.status).toBe(403);
      expectMatrixError(res.body, 'M_FORBIDDEN');
      expect(res.body.error).toMatch(/kick must be an integer/);
    }
    await rooms.setState(alice, roomId, 'm.room.power_levels', '', pl);
  });

  test('m.room.aliases: any member may set it for their own server up to v5; from v6 it needs the state level', async () => {
    const member = await registerUser(t);
    await rooms.join(member, roomId);
    const res = await putState(member, roomId, 'm.room.aliases', SERVER, { aliases: [] });
    expect(res.status).toBe(n(version) <= 5 ? 200 : 403);
    const other = await putState(member, roomId, 'm.room.aliases', 'other.example', { aliases: [] });
    expect(other.status).toBe(403);
  });

  test('knocking from v7, restricted joins from v8, knock_restricted from v10', async () => {
    const room = await rooms.createRoom(alice, { room_version: version, preset: 'private_chat' });
    const space = await rooms.createRoom(alice, { preset: 'public_chat' });
    const outsider = await registerUser(t);
    await rooms.join(outsider, space);
    const knock = () => t.http.post(`${V3}/knock/${enc(room)}`).set(outsider.auth).send({});
    const join = () => t.http.post(`${V3}/join/${enc(room)}`).set(outsider.auth).send({});

    await rooms.setState(alice, room, 'm.room.join_rules', '', { join_rule: 'knock' });
    expect((await knock()).status).toBe(n(version) >= 7 ? 200 : 403);
    if (n(version) >= 7) await rooms.leave(outsider, room);

    const allow = [{ type: 'm.room_membership', room_id: space }];
    await rooms.setState(alice, room, 'm.room.join_rules', '', { join_rule: 'restricted', allow });
    const restricted = await join();
    expect(restricted.status).toBe(n(version) >= 8 ? 200 : 403);
    if (n(version) >= 8) {
      // The server names the member who authorised the join.
      const member = (await stateOf(alice, room)).get(`m.room.member|${outsider.userId}`)!;
      expect(member.content).toMatchObject({ membership: 'join', join_authorised_via_users_server: alice.userId });
      await rooms.leave(outsider, room);
    }

    await rooms.setState(alice, room, 'm.room.join_rules', '', { join_rule: 'knock_restricted', allow });
    expect((await join()).status).toBe(n(version) >= 10 ? 200 : 403);
    // Someone who is in no allowed room is refused in every version.
    const stranger = await registerUser(t);
    const refused = await t.http.post(`${V3}/join/${enc(room)}`).set(stranger.auth).send({});
    expect(refused.status).toBe(403);
  });
});

describe('room version 12: room ids', () => {
  test('identical rooms created at once by one user get distinct ids (a hash each, of create events a millisecond apart)', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, () => t.http.post(`${V3}/createRoom`).set(carol.auth).send({ room_version: '12', preset: 'private_chat' })));
    expect(created.map((r) => r.status)).toEqual(Array(6).fill(200));
    const ids = created.map((r) => r.body.room_id as string);
    expect(new Set(ids).size).toBe(6);
    for (const roomId of ids) {
      const create = (await stateOf(carol, roomId)).get('m.room.create|')!;
      expect(create.event_id).toBe(`$${roomId.slice(1)}`);
    }
  });
});

describe('room version 12: creators', () => {
  test('the creator has unlimited power and cannot be listed in the power levels', async () => {
    const roomId = await rooms.createRoom(alice, { room_version: '12', preset: 'public_chat' });
    const pl = (await stateOf(alice, roomId)).get('m.room.power_levels|')!.content;
    const listed = await putState(alice, roomId, 'm.room.power_levels', '', { ...pl, users: { [alice.userId]: 100 } });
    expect(listed.status).toBe(403);
    expect(listed.body.error).toMatch(/room creators cannot be listed/);
    // Above any level: Alice sets levels far above 100 and still changes them.
    await rooms.setState(alice, roomId, 'm.room.power_levels', '', { ...pl, users: { [bob.userId]: 9000 }, ban: 9000 });
    await rooms.join(bob, roomId);
    const kickCreator = await t.http.post(`${V3}/rooms/${enc(roomId)}/kick`).set(bob.auth).send({ user_id: alice.userId });
    expect(kickCreator.status).toBe(403);
    await rooms.setState(alice, roomId, 'm.room.power_levels', '', { ...pl, users: {}, ban: 50 });
  });

  test('additional_creators from creation_content, and trusted_private_chat invitees, are creators', async () => {
    const roomId = await rooms.createRoom(alice, {
      room_version: '12',
      preset: 'trusted_private_chat',
      invite: [carol.userId],
      creation_content: { additional_creators: [bob.userId] },
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 100 } },
    });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.create|')!.content.additional_creators).toEqual([bob.userId, carol.userId]);
    // Creators are never listed: the override's entries for them are dropped.
    expect(state.get('m.room.power_levels|')!.content.users).toEqual({});
    await rooms.join(carol, roomId);
    // Carol, a creator, may set the tombstone level's event (150) and kick a non-creator, not a creator.
    await rooms.setState(carol, roomId, 'm.room.server_acl', '', { allow: ['*'], deny: [] });
    const kick = await t.http.post(`${V3}/rooms/${enc(roomId)}/kick`).set(carol.auth).send({ user_id: alice.userId });
    expect(kick.status).toBe(403);
  });

  test('versions 1-11 keep trusted_private_chat invitees at 100 and ignore additional_creators', async () => {
    const roomId = await rooms.createRoom(alice, { room_version: '11', preset: 'trusted_private_chat', invite: [bob.userId], creation_content: { additional_creators: [carol.userId] } });
    const state = await stateOf(alice, roomId);
    expect(state.get('m.room.power_levels|')!.content.users).toEqual({ [alice.userId]: 100, [bob.userId]: 100 });
    await rooms.invite(alice, roomId, carol);
    await rooms.join(carol, roomId);
    const res = await putState(carol, roomId, 'm.room.name', '', { name: 'not a creator' });
    expect(res.status).toBe(403);
  });
});

describe('upgrades between versions', () => {
  const upgrade = (u: TestUser, roomId: string, body: Record<string, unknown>) => t.http.post(`${V3}/rooms/${enc(roomId)}/upgrade`).set(u.auth).send(body);

  test('to v12: the replacement room id is its create event hash; from v9 with string power levels, they become integers', async () => {
    const old = await rooms.createRoom(alice, { room_version: '9', preset: 'public_chat' });
    const pl = (await stateOf(alice, old)).get('m.room.power_levels|')!.content;
    await rooms.setState(alice, old, 'm.room.power_levels', '', { ...pl, kick: '40', users: { ...pl.users, [bob.userId]: '40' } });
    const res = await upgrade(alice, old, { new_version: '12', additional_creators: [carol.userId] });
    expect(res.status).toBe(200);
    const replacement = res.body.replacement_room as string;
    expect(replacement).toMatch(/^![A-Za-z0-9_-]{43}$/);
    const state = await stateOf(alice, replacement);
    const create = state.get('m.room.create|')!;
    expect(create.event_id).toBe(`$${replacement.slice(1)}`);
    expect(create.content).toMatchObject({ room_version: '12', predecessor: { room_id: old }, additional_creators: [carol.userId] });
    const newPl = state.get('m.room.power_levels|')!.content;
    expect(newPl.kick).toBe(40);
    expect(newPl.users).toEqual({ [bob.userId]: 40 });
  });

  test.each(['1', '3', '7'])('to v%s: the replacement follows that version', async (version) => {
    const old = await rooms.createRoom(alice, { room_version: '12', preset: 'public_chat' });
    const res = await upgrade(alice, old, { new_version: version });
    expect(res.status).toBe(200);
    const replacement = res.body.replacement_room as string;
    expect(replacement).toMatch(/^![A-Za-z0-9]+:test\.local$/);
    const state = await stateOf(alice, replacement);
    expect(state.get('m.room.create|')!.content).toMatchObject({ room_version: version, creator: alice.userId });
    for (const e of state.values()) expect(e.event_id).toMatch(eventIdPattern(version));
    // The old v12 creator keeps the top level in a version without infinite creators.
    expect(state.get('m.room.power_levels|')!.content.users[alice.userId]).toBeGreaterThanOrEqual(100);
    expect(await rooms.send(alice, replacement, 'after')).toMatch(eventIdPattern(version));
  });
});

describe('capabilities', () => {
  test('every version 1-12 is advertised as stable, with the default the spec recommends', async () => {
    const res = await t.http.get(`${V3}/capabilities`).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getCapabilities', 200, res.body);
    const { default: byDefault, available } = res.body.capabilities['m.room_versions'];
    expect(available).toEqual(Object.fromEntries(VERSIONS.map((v) => [v, 'stable'])));
    expect(VERSIONS).toContain(byDefault);
    const created = await rooms.createRoom(alice, {});
    expect((await stateOf(alice, created)).get('m.room.create|')!.content.room_version).toBe(byDefault);
  });
});
