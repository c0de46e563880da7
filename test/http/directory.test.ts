/**
 * Discovery over HTTP: local aliases of a room, directory visibility and who may change it, GET/POST /publicRooms
 * (filters, pagination, bad tokens), the space hierarchy and the user directory search.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, roomHelpers, V1, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(['alice', 'bob', 'carol'])));
afterAll(() => t.close());

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

const { createRoom, join, setState } = roomHelpers(() => t.http);
const visibility = (roomId: string) => `${V3}/directory/list/room/${enc(roomId)}`;

describe('local aliases', () => {
  test('members list the aliases; outsiders and unknown rooms are 403; a malformed id is 400', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat', room_alias_name: 'la-main' });
    await t.http.put(`${V3}/directory/room/${enc('#la-extra:test.local')}`).set(alice.auth).send({ room_id: roomId });
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/aliases`).set(alice.auth);
    expect([res.status, res.body]).toEqual([200, { aliases: ['#la-extra:test.local', '#la-main:test.local'] }]);
    expectValidResponseById('getLocalAliases', 200, res.body);
    expectError(await t.http.get(`${V3}/rooms/${enc(roomId)}/aliases`).set(bob.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.get(`${V3}/rooms/${enc('!nope:test.local')}/aliases`).set(bob.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.get(`${V3}/rooms/notaroom/aliases`).set(bob.auth), 400, 'M_INVALID_PARAM');
    expect((await t.http.get(`${V3}/rooms/${enc(roomId)}/aliases`)).status).toBe(401);
  });

  test('a world-readable room shows its aliases to anyone', async () => {
    const roomId = await createRoom(alice, { room_alias_name: 'la-open' });
    await setState(alice, roomId, 'm.room.history_visibility', '', { history_visibility: 'world_readable' });
    const res = await t.http.get(`${V3}/rooms/${enc(roomId)}/aliases`).set(bob.auth);
    expect([res.status, res.body]).toEqual([200, { aliases: ['#la-open:test.local'] }]);
  });
});

describe('directory visibility', () => {
  test('createRoom with visibility public publishes the room; private (the default) does not', async () => {
    const pub = await createRoom(alice, { preset: 'public_chat', visibility: 'public' });
    const priv = await createRoom(alice, { preset: 'public_chat' });
    const get = await t.http.get(visibility(pub));
    expect([get.status, get.body]).toEqual([200, { visibility: 'public' }]);
    expectValidResponseById('getRoomVisibilityOnDirectory', 200, get.body);
    expect((await t.http.get(visibility(priv))).body).toEqual({ visibility: 'private' });
  });

  test('the room admin publishes and unpublishes; visibility defaults to public', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    const put = await t.http.put(visibility(roomId)).set(alice.auth).send({});
    expect([put.status, put.body]).toEqual([200, {}]);
    expectValidResponseById('setRoomVisibilityOnDirectory', 200, put.body);
    expect((await t.http.get(visibility(roomId))).body).toEqual({ visibility: 'public' });
    expect((await t.http.put(visibility(roomId)).set(alice.auth).send({ visibility: 'private' })).status).toBe(200);
    expect((await t.http.get(visibility(roomId))).body).toEqual({ visibility: 'private' });
  });

  test('publishing without power is 403: a plain member, an outsider; nothing changes', async () => {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    expectError(await t.http.put(visibility(roomId)).set(bob.auth).send({ visibility: 'public' }), 403, 'M_FORBIDDEN');
    expectError(await t.http.put(visibility(roomId)).set(carol.auth).send({ visibility: 'public' }), 403, 'M_FORBIDDEN');
    expect((await t.http.get(visibility(roomId))).body).toEqual({ visibility: 'private' });
  });

  test('a server admin may publish any room', async () => {
    const roomId = await createRoom(alice, {});
    await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${carol.userId}`;
    try {
      expect((await t.http.put(visibility(roomId)).set(carol.auth).send({ visibility: 'public' })).status).toBe(200);
      expect((await t.http.get(visibility(roomId))).body).toEqual({ visibility: 'public' });
      expect((await t.http.put(visibility(roomId)).set(carol.auth).send({ visibility: 'private' })).status).toBe(200);
    } finally {
      await t.hs.sql`UPDATE users SET is_admin = false WHERE user_id = ${carol.userId}`;
    }
  });

  test('unknown rooms are 404; malformed ids and bodies 400; no token 401', async () => {
    expectError(await t.http.get(visibility('!nope:test.local')), 404, 'M_NOT_FOUND');
    expectError(await t.http.put(visibility('!nope:test.local')).set(alice.auth).send({}), 404, 'M_NOT_FOUND');
    expectError(await t.http.get(visibility('nope')), 400, 'M_INVALID_PARAM');
    const roomId = await createRoom(alice, {});
    expectError(await t.http.put(visibility(roomId)).set(alice.auth).send({ visibility: 'everyone' }), 400, 'M_BAD_JSON');
    expect((await t.http.put(visibility(roomId)).send({})).status).toBe(401);
  });
});

describe('publicRooms', () => {
  let cheese: string;
  let wine: string;
  let space: string;

  beforeAll(async () => {
    // Unpublish whatever earlier tests listed, so the listing here is exactly these rooms.
    await t.hs.sql`DELETE FROM published_rooms`;
    cheese = await createRoom(alice, { preset: 'public_chat', visibility: 'public', name: 'Cheese lovers', topic: 'Tasty Brie', room_alias_name: 'fromage' });
    wine = await createRoom(bob, { preset: 'public_chat', visibility: 'public', name: 'Wine', topic: 'Reds and whites' });
    space = await createRoom(carol, { preset: 'public_chat', visibility: 'public', name: 'Food space', creation_content: { type: 'm.space' } });
    await setState(alice, cheese, 'm.room.avatar', '', { url: 'mxc://test.local/cheese' });
    await join(bob, cheese);
    await join(carol, cheese);
    await join(carol, wine);
  });

  test('GET lists published rooms, most members first, without a token', async () => {
    const res = await t.http.get(`${V3}/publicRooms`);
    expect(res.status).toBe(200);
    expectValidResponseById('getPublicRooms', 200, res.body);
    expect(res.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese, wine, space]);
    expect(res.body.chunk[0]).toEqual({
      room_id: cheese, name: 'Cheese lovers', topic: 'Tasty Brie', canonical_alias: '#fromage:test.local', avatar_url: 'mxc://test.local/cheese',
      num_joined_members: 3, world_readable: false, guest_can_join: false, join_rule: 'public',
    });
    expect(res.body.chunk[2].room_type).toBe('m.space');
    expect(res.body.total_room_count_estimate).toBe(3);
    expect(res.body.next_batch).toBeUndefined();
    expect(res.body.prev_batch).toBeUndefined();
  });

  test('pages with limit and since: next_batch forwards, prev_batch back', async () => {
    const first = await t.http.get(`${V3}/publicRooms`).query({ limit: 2 });
    expect(first.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese, wine]);
    expect(first.body.prev_batch).toBeUndefined();
    const second = await t.http.get(`${V3}/publicRooms`).query({ limit: 2, since: first.body.next_batch });
    expectValidResponseById('getPublicRooms', 200, second.body);
    expect(second.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([space]);
    expect(second.body.next_batch).toBeUndefined();
    const back = await t.http.get(`${V3}/publicRooms`).query({ limit: 2, since: second.body.prev_batch });
    expect(back.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese, wine]);
    // The tokens are positions in the listing: POST continues where GET stopped.
    const post = await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ limit: 1, since: first.body.next_batch });
    expect(post.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([space]);
    expect(post.body.prev_batch).toEqual(expect.any(String));
  });

  test('POST filters by search term (name, topic, alias; any case) and room types', async () => {
    const ids = async (body: Record<string, unknown>) => {
      const res = await t.http.post(`${V3}/publicRooms`).set(bob.auth).send(body);
      expect(res.status).toBe(200);
      expectValidResponseById('queryPublicRooms', 200, res.body);
      return res.body.chunk.map((c: { room_id: string }) => c.room_id);
    };
    expect(await ids({ filter: { generic_search_term: 'brie' } })).toEqual([cheese]);
    expect(await ids({ filter: { generic_search_term: 'FROMAGE' } })).toEqual([cheese]);
    expect(await ids({ filter: { generic_search_term: 'wine' } })).toEqual([wine]);
    expect(await ids({ filter: { generic_search_term: 'nothing matches this' } })).toEqual([]);
    expect(await ids({ filter: { room_types: ['m.space'] } })).toEqual([space]);
    expect(await ids({ filter: { room_types: [null] } })).toEqual([cheese, wine]);
    expect(await ids({ filter: { room_types: [null, 'm.space'] } })).toEqual([cheese, wine, space]);
    expect(await ids({})).toEqual([cheese, wine, space]);
    expect(await ids({ third_party_instance_id: 'irc' })).toEqual([]);
  });

  test('POST takes null for any absent field (since: null is what matrix-js-sdk sends for the first page)', async () => {
    const res = await t.http.post(`${V3}/publicRooms`).set(bob.auth)
      .send({ limit: null, since: null, filter: { generic_search_term: null, room_types: null }, include_all_networks: null, third_party_instance_id: null });
    expect(res.status).toBe(200);
    expectValidResponseById('queryPublicRooms', 200, res.body);
    expect(res.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese, wine, space]);
    const page = await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ limit: 1, since: null, filter: null });
    expect(page.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese]);
    expect(page.body.chunk[0].avatar_url).toBe('mxc://test.local/cheese');
  });

  test('avatar_url is the room avatar\'s mxc URI; an avatar that is not one is left out (the spec\'s pattern is ^mxc://)', async () => {
    await setState(bob, wine, 'm.room.avatar', '', { url: 'https://example.com/wine.jpg' });
    const res = await t.http.get(`${V3}/publicRooms`);
    expectValidResponseById('getPublicRooms', 200, res.body);
    const chunk = (id: string) => res.body.chunk.find((c: { room_id: string }) => c.room_id === id);
    expect(chunk(cheese).avatar_url).toBe('mxc://test.local/cheese');
    expect(chunk(wine).avatar_url).toBeUndefined();
    await setState(bob, wine, 'm.room.avatar', '', { url: 'mxc://test.local/wine' });
    expect((await t.http.get(`${V3}/publicRooms`)).body.chunk.find((c: { room_id: string }) => c.room_id === wine).avatar_url).toBe('mxc://test.local/wine');
    await setState(bob, wine, 'm.room.avatar', '', {});
  });

  test('an unpublished room leaves the listing', async () => {
    await t.http.put(visibility(wine)).set(bob.auth).send({ visibility: 'private' });
    const res = await t.http.get(`${V3}/publicRooms`);
    expect(res.body.chunk.map((c: { room_id: string }) => c.room_id)).toEqual([cheese, space]);
    await t.http.put(visibility(wine)).set(bob.auth).send({ visibility: 'public' });
  });

  test('bad since tokens, limits, filters and servers are 400; POST needs a token', async () => {
    expectError(await t.http.get(`${V3}/publicRooms`).query({ since: 'garbage' }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.get(`${V3}/publicRooms`).query({ since: 'p-1' }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ since: 'x1' }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.get(`${V3}/publicRooms`).query({ limit: 'ten' }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.get(`${V3}/publicRooms`).query({ limit: 0 }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.get(`${V3}/publicRooms`).query({ server: 'elsewhere.org' }), 400, 'M_INVALID_PARAM');
    expect((await t.http.get(`${V3}/publicRooms`).query({ server: 'test.local' })).status).toBe(200);
    expectError(await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ filter: { generic_search_term: 5 } }), 400, 'M_BAD_JSON');
    expectError(await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ filter: { room_types: 'm.space' } }), 400, 'M_BAD_JSON');
    expectError(await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ filter: 'all' }), 400, 'M_BAD_JSON');
    expectError(await t.http.post(`${V3}/publicRooms`).set(bob.auth).send({ limit: -1 }), 400, 'M_BAD_JSON');
    expect((await t.http.post(`${V3}/publicRooms`).send({})).status).toBe(401);
  });
});

describe('space hierarchy', () => {
  let root: string;
  let childA: string;
  let childB: string;
  let subspace: string;
  let grandchild: string;
  let hidden: string;

  const hierarchy = (u: TestUser, roomId: string, query: Record<string, unknown> = {}) =>
    t.http.get(`${V1}/rooms/${enc(roomId)}/hierarchy`).query(query).set(u.auth);
  const ids = (body: { rooms: { room_id: string }[] }) => body.rooms.map((x) => x.room_id);
  const link = (parent: string, child: string, extra: Record<string, unknown> = {}) => setState(alice, parent, 'm.space.child', child, { via: ['test.local'], ...extra });

  beforeAll(async () => {
    root = await createRoom(alice, { preset: 'public_chat', name: 'Root', creation_content: { type: 'm.space' } });
    childA = await createRoom(alice, { preset: 'public_chat', name: 'A' });
    childB = await createRoom(alice, { preset: 'public_chat', name: 'B' });
    subspace = await createRoom(alice, { preset: 'public_chat', name: 'Sub', creation_content: { type: 'm.space' } });
    grandchild = await createRoom(alice, { preset: 'public_chat', name: 'Grandchild' });
    hidden = await createRoom(alice, { preset: 'private_chat', name: 'Hidden' });
    // Order: B ("a") before A ("b"), then the subspace and the hidden room (no order, by timestamp).
    await link(root, childA, { order: 'b', suggested: true });
    await link(root, childB, { order: 'a' });
    await link(root, subspace);
    await link(root, hidden);
    await link(root, '!unknown:test.local');
    await link(subspace, grandchild, { suggested: true });
    await link(subspace, root); // a cycle: each room is listed once
    await setState(alice, root, 'm.space.child', childA.replace('!', '!x'), {}); // no via: not a child
  });

  test('walks depth-first in the spec order, leaving out rooms the user cannot see and unknown rooms', async () => {
    const res = await hierarchy(bob, root);
    expect(res.status).toBe(200);
    expectValidResponseById('getSpaceHierarchy', 200, res.body);
    expect(ids(res.body)).toEqual([root, childB, childA, subspace, grandchild]);
    const rootEntry = res.body.rooms[0];
    expect(rootEntry).toMatchObject({ room_id: root, name: 'Root', room_type: 'm.space', num_joined_members: 1, join_rule: 'public', encryption: 'm.megolm.v1.aes-sha2' });
    expect(rootEntry.children_state.map((c: { state_key: string }) => c.state_key)).toEqual([childB, childA, subspace, hidden, '!unknown:test.local']);
    expect(rootEntry.children_state[0]).toEqual(expect.objectContaining({ type: 'm.space.child', sender: alice.userId, origin_server_ts: expect.any(Number) }));
    expect(res.body.rooms[1].children_state).toEqual([]);
    expect(res.body.next_batch).toBeUndefined();
    // The room's own members see the private room too.
    expect(ids((await hierarchy(alice, root)).body)).toEqual([root, childB, childA, subspace, grandchild, hidden]);
  });

  test('max_depth and suggested_only', async () => {
    expect(ids((await hierarchy(bob, root, { max_depth: 0 })).body)).toEqual([root]);
    expect(ids((await hierarchy(bob, root, { max_depth: 1 })).body)).toEqual([root, childB, childA, subspace]);
    expect(ids((await hierarchy(bob, root, { suggested_only: true })).body)).toEqual([root, childA]);
  });

  test('paginates with limit and from; changing max_depth or suggested_only, or a bad token, is 400', async () => {
    const first = await hierarchy(bob, root, { limit: 2 });
    expect(ids(first.body)).toEqual([root, childB]);
    expect(first.body.next_batch).toEqual(expect.any(String));
    const second = await hierarchy(bob, root, { limit: 2, from: first.body.next_batch });
    expectValidResponseById('getSpaceHierarchy', 200, second.body);
    expect(ids(second.body)).toEqual([childA, subspace]);
    const third = await hierarchy(bob, root, { limit: 2, from: second.body.next_batch });
    expect(ids(third.body)).toEqual([grandchild]);
    expect(third.body.next_batch).toBeUndefined();
    expectError(await hierarchy(bob, root, { from: first.body.next_batch, max_depth: 1 }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, root, { from: first.body.next_batch, suggested_only: true }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, subspace, { from: first.body.next_batch }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, root, { from: 'not-a-token' }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, root, { limit: 0 }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, root, { max_depth: -1 }), 400, 'M_INVALID_PARAM');
    expectError(await hierarchy(bob, root, { suggested_only: 'maybe' }), 400, 'M_INVALID_PARAM');
  });

  test('a root the user cannot see, or an unknown one, is 403', async () => {
    expectError(await hierarchy(bob, hidden), 403, 'M_FORBIDDEN');
    expectError(await hierarchy(bob, '!unknown:test.local'), 403, 'M_FORBIDDEN');
    expect((await t.http.get(`${V1}/rooms/${enc(root)}/hierarchy`)).status).toBe(401);
  });
});

describe('user directory', () => {
  let dave: TestUser;
  let erin: TestUser;
  let frank: TestUser;

  beforeAll(async () => {
    [dave, erin, frank] = [await registerUser(t, 'dave'), await registerUser(t, 'erin'), await registerUser(t, 'frank')];
    await t.http.put(`${V3}/profile/${enc(erin.userId)}/displayname`).set(erin.auth).send({ displayname: 'Erin Zebra' });
    await t.http.put(`${V3}/profile/${enc(erin.userId)}/avatar_url`).set(erin.auth).send({ avatar_url: 'mxc://test.local/erin' });
    // dave and erin share a private room; frank is alone in his private room.
    const shared = await createRoom(dave, { preset: 'private_chat', invite: [erin.userId] });
    await join(erin, shared);
    await createRoom(frank, { preset: 'private_chat' });
  });

  const search = (u: TestUser, body: Record<string, unknown>) => t.http.post(`${V3}/user_directory/search`).set(u.auth).send(body);

  test('finds users sharing a room, by user id or display name, case-insensitively', async () => {
    const byName = await search(dave, { search_term: 'zEbRa' });
    expect(byName.status).toBe(200);
    expectValidResponseById('searchUserDirectory', 200, byName.body);
    expect(byName.body).toEqual({ results: [{ user_id: erin.userId, display_name: 'Erin Zebra', avatar_url: 'mxc://test.local/erin' }], limited: false });
    const byId = await search(dave, { search_term: 'ERIN' });
    expect(byId.body.results.map((x: { user_id: string }) => x.user_id)).toEqual([erin.userId]);
  });

  test('users in public rooms are found; users with no shared or public room are not', async () => {
    // alice, bob and carol are joined to public rooms (earlier tests).
    expect((await search(dave, { search_term: 'alice' })).body.results.map((x: { user_id: string }) => x.user_id)).toEqual([alice.userId]);
    expect((await search(dave, { search_term: 'frank' })).body).toEqual({ results: [], limited: false });
    expect((await search(bob, { search_term: 'erin' })).body).toEqual({ results: [], limited: false });
  });

  test('limit cuts the list and says so; deactivated users are left out', async () => {
    const all = await search(dave, { search_term: '' });
    expect(all.body.results.length).toBeGreaterThan(2);
    const cut = await search(dave, { search_term: '', limit: 2 });
    expect(cut.body.results).toHaveLength(2);
    expect(cut.body.limited).toBe(true);
    await t.hs.sql`UPDATE users SET deactivated = true WHERE user_id = ${erin.userId}`;
    try {
      expect((await search(dave, { search_term: 'erin' })).body.results).toEqual([]);
    } finally {
      await t.hs.sql`UPDATE users SET deactivated = false WHERE user_id = ${erin.userId}`;
    }
  });

  test('bad bodies are 400; no token 401', async () => {
    expectError(await search(dave, {}), 400, 'M_MISSING_PARAM');
    expectError(await search(dave, { search_term: 5 }), 400, 'M_BAD_JSON');
    expectError(await search(dave, { search_term: 'x', limit: 0 }), 400, 'M_BAD_JSON');
    expect((await t.http.post(`${V3}/user_directory/search`).send({ search_term: 'x' })).status).toBe(401);
  });
});
