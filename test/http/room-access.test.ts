/**
 * The room-read rule (relay/rooms/access.ts) over every endpoint that applies it: /state, /state/{type}, /messages,
 * /members and /threads answer alike for each branch (joined, world-readable, left or banned after joining, invited,
 * never joined, unknown room); and the typing rule (joined members, for themselves only).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError } from '../support/spec.js';
import { enc, roomHelpers, V1, V3 } from '../support/rooms.js';

const REFUSAL = 'You are not allowed to read this room: join it first.';
let t: TestServer;
let alice: TestUser;

beforeAll(async () => ([t, [alice]] = await startWithUsers(1)));
afterAll(() => t.close());

const post = (user: TestUser, path: string, body: Record<string, unknown> = {}) => t.http.post(`${V3}${path}`).set(user.auth).send(body);
async function ok(res: Promise<{ status: number; body: Record<string, unknown> }> | { status: number; body: Record<string, unknown> }) {
  const done = await res;
  expect(done.status).toBe(200);
  return done.body;
}
const { createRoom, join, leave, invite, send } = roomHelpers(() => t.http);
const setTopic = (roomId: string, topic: string) => ok(t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.topic`).set(alice.auth).send({ topic }));

/** What the user reads through each endpoint of the rule: the topic, the encrypted events, the members, or the refusal. */
async function reads(user: TestUser, roomId: string) {
  const room = `/rooms/${enc(roomId)}`;
  const [state, topic, messages, members, threads] = await Promise.all([
    t.http.get(`${V3}${room}/state`).set(user.auth),
    t.http.get(`${V3}${room}/state/m.room.topic`).set(user.auth),
    t.http.get(`${V3}${room}/messages`).query({ dir: 'b', limit: 100 }).set(user.auth),
    t.http.get(`${V3}${room}/members`).set(user.auth),
    t.http.get(`${V1}${room}/threads`).set(user.auth),
  ]);
  return {
    statuses: [state.status, topic.status, messages.status, members.status, threads.status],
    bodies: [state.body, topic.body, messages.body, members.body, threads.body],
    stateTopic: state.status === 200 ? state.body.find((e: { type: string }) => e.type === 'm.room.topic')?.content.topic : undefined,
    topic: topic.status === 200 ? topic.body.topic : undefined,
    events: messages.status === 200 ? messages.body.chunk.filter((e: { type: string }) => e.type === 'm.room.encrypted').map((e: { event_id: string }) => e.event_id).reverse() : undefined,
    memberIds: members.status === 200 ? members.body.chunk.map((e: { state_key: string }) => e.state_key).sort() : undefined,
  };
}

function expectRefusedEverywhere(read: Awaited<ReturnType<typeof reads>>): void {
  expect(read.statuses).toEqual([403, 403, 403, 403, 403]);
  for (const body of read.bodies) {
    expectMatrixError(body, 'M_FORBIDDEN');
    expect(body.error).toBe(REFUSAL);
  }
}

describe('the room-read rule, branch by branch', () => {
  let roomId: string;
  let bob: TestUser, carol: TestUser, dave: TestUser, erin: TestUser, frank: TestUser;
  let early: string, late: string;

  beforeAll(async () => {
    [bob, carol, dave, erin, frank] = await Promise.all([1, 2, 3, 4, 5].map(() => registerUser(t)));
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await setTopic(roomId, 'before');
    for (const u of [bob, carol, dave]) await join(u, roomId);
    early = await send(alice, roomId);
    await leave(carol, roomId);
    await ok(post(alice, `/rooms/${enc(roomId)}/ban`, { user_id: dave.userId }));
    await invite(alice, roomId, frank);
    late = await send(alice, roomId);
    await setTopic(roomId, 'after');
  });

  test('joined: everything up to now', async () => {
    const read = await reads(bob, roomId);
    expect(read.statuses).toEqual([200, 200, 200, 200, 200]);
    expect([read.stateTopic, read.topic]).toEqual(['after', 'after']);
    expect(read.events).toEqual([early, late]);
    expect(read.memberIds).toEqual([alice, bob, carol, dave, frank].map((u) => u.userId).sort());
  });

  test('left after joining: everything up to the leave, nothing after it', async () => {
    const read = await reads(carol, roomId);
    expect(read.statuses).toEqual([200, 200, 200, 200, 200]);
    expect([read.stateTopic, read.topic]).toEqual(['before', 'before']);
    expect(read.events).toEqual([early]);
    // The members as they were when she left: dave not yet banned, frank not yet invited.
    expect(read.memberIds).toEqual([alice, bob, carol, dave].map((u) => u.userId).sort());
  });

  test('banned after joining: everything up to the ban, nothing after it', async () => {
    const read = await reads(dave, roomId);
    expect(read.statuses).toEqual([200, 200, 200, 200, 200]);
    expect([read.stateTopic, read.topic]).toEqual(['before', 'before']);
    expect(read.events).toEqual([early]);
    expect(read.memberIds).not.toContain(frank.userId);
  });

  test('invited but never joined: refused everywhere, with one answer', async () => {
    expectRefusedEverywhere(await reads(frank, roomId));
  });

  test('never joined: refused everywhere, with one answer', async () => {
    expectRefusedEverywhere(await reads(erin, roomId));
  });

  test('joining again reads up to now', async () => {
    const gina = await registerUser(t);
    await join(gina, roomId);
    await leave(gina, roomId);
    const afterLeave = await send(alice, roomId);
    expect((await reads(gina, roomId)).events).not.toContain(afterLeave);
    await join(gina, roomId);
    const read = await reads(gina, roomId);
    expect(read.statuses).toEqual([200, 200, 200, 200, 200]);
    expect(read.topic).toBe('after');
    expect(read.events).toContain(afterLeave);
  });
});

describe('world-readable rooms', () => {
  test('anyone reads up to now; the setting in force now decides', async () => {
    const roomId = await createRoom(alice, {
      preset: 'public_chat',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    const event = await send(alice, roomId);
    await setTopic(roomId, 'open');
    const outsider = await registerUser(t);
    const read = await reads(outsider, roomId);
    expect(read.statuses).toEqual([200, 200, 200, 200, 200]);
    expect(read.topic).toBe('open');
    expect(read.events).toEqual([event]);
    expect(read.memberIds).toEqual([alice.userId]);

    await ok(t.http.put(`${V3}/rooms/${enc(roomId)}/state/m.room.history_visibility`).set(alice.auth).send({ history_visibility: 'shared' }));
    expectRefusedEverywhere(await reads(outsider, roomId));
  });
});

test('an unknown room: 404 where the spec lists it, 403 for /threads (which lists no 404)', async () => {
  const read = await reads(alice, '!nope:test.local');
  expect(read.statuses).toEqual([404, 404, 404, 404, 403]);
  for (const body of read.bodies.slice(0, 4)) expectMatrixError(body, 'M_NOT_FOUND');
  expect(read.bodies[4].error).toBe(REFUSAL);
});

describe('typing: joined members, for themselves', () => {
  let roomId: string;
  let bob: TestUser;
  const typing = (user: TestUser, room: string, userId = user.userId) =>
    t.http.put(`${V3}/rooms/${enc(room)}/typing/${enc(userId)}`).set(user.auth).send({ typing: true, timeout: 1000 });

  beforeAll(async () => {
    bob = await registerUser(t);
    roomId = await createRoom(alice, { preset: 'public_chat' });
  });

  test('a joined member types; an outsider, a leaver and anyone in an unknown room get 403', async () => {
    await ok(typing(alice, roomId));
    for (const res of [await typing(bob, roomId), await typing(bob, '!nope:test.local')]) {
      expect(res.status).toBe(403);
      expectMatrixError(res.body, 'M_FORBIDDEN');
    }
    await join(bob, roomId);
    await ok(typing(bob, roomId));
    await leave(bob, roomId);
    expect((await typing(bob, roomId)).status).toBe(403);
  });

  test("nobody sets another user's typing state", async () => {
    const res = await typing(alice, roomId, bob.userId);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('You can only set your own typing state.');
  });
});
