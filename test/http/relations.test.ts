/** Event relationships over HTTP: /relations from the clear m.relates_to of encrypted events, /threads, /context, bundled aggregations. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { enc, megolm, MEGOLM_ALGORITHM, roomHelpers, V1, V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, leave, sendEvent, redact } = roomHelpers(() => t.http);
const send = (user: TestUser, roomId: string, relatesTo?: Record<string, unknown>) =>
  sendEvent(user, roomId, 'm.room.encrypted', megolm('', relatesTo ? { 'm.relates_to': relatesTo } : {}));
const thread = (user: TestUser, roomId: string, root: string) => send(user, roomId, { rel_type: 'm.thread', event_id: root });
const edit = (user: TestUser, roomId: string, original: string) => send(user, roomId, { rel_type: 'm.replace', event_id: original });
const react = (user: TestUser, roomId: string, target: string, key = '👍') =>
  sendEvent(user, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key } });
const relations = (user: TestUser, roomId: string, eventId: string, suffix = '', query: Record<string, string | number | boolean> = {}) =>
  t.http.get(`${V1}/rooms/${enc(roomId)}/relations/${enc(eventId)}${suffix}`).query(query).set(user.auth);
const ids = (chunk: { event_id: string }[]) => chunk.map((e) => e.event_id);
const getEvent = (user: TestUser, roomId: string, eventId: string) => t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`).set(user.auth);

/** All pages of /relations, following next_batch. */
async function allPages(user: TestUser, roomId: string, eventId: string, query: Record<string, string | number | boolean>): Promise<string[]> {
  const out: string[] = [];
  let from: string | undefined;
  for (let i = 0; i < 20; i++) {
    const res = await relations(user, roomId, eventId, '', { ...query, ...(from ? { from } : {}) });
    expect(res.status).toBe(200);
    expectValidResponseById('getRelatingEvents', 200, res.body);
    out.push(...ids(res.body.chunk));
    if (!res.body.next_batch) return out;
    from = res.body.next_batch;
  }
  throw new Error('pagination did not end');
}

describe('relations of encrypted events', () => {
  let roomId: string;
  let root: string;
  let edits: string[];
  let threadEvents: string[];
  let reaction: string;
  let reply: string;
  let nested: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    root = await send(alice, roomId);
    edits = [await edit(alice, roomId, root), await edit(alice, roomId, root)];
    reply = await send(bob, roomId, { 'm.in_reply_to': { event_id: root } });
    threadEvents = [await thread(bob, roomId, root), await thread(alice, roomId, root), await thread(bob, roomId, root)];
    reaction = await react(bob, roomId, root);
    nested = await react(alice, roomId, threadEvents[0]);
  });

  test('all children, newest first, read from the clear m.relates_to; a rich reply is not a relation', async () => {
    const res = await relations(alice, roomId, root);
    expect(res.status).toBe(200);
    expectValidResponseById('getRelatingEvents', 200, res.body);
    expect(ids(res.body.chunk)).toEqual([reaction, ...[...threadEvents].reverse(), ...[...edits].reverse()]);
    expect(ids(res.body.chunk)).not.toContain(reply);
    expect(ids(res.body.chunk)).not.toContain(nested);
    expect(res.body.chunk[1].content).toEqual(expect.objectContaining({ algorithm: MEGOLM_ALGORITHM, 'm.relates_to': { rel_type: 'm.thread', event_id: root } }));
    expect(res.body.next_batch).toBeUndefined();
    expect(res.body.recursion_depth).toBeUndefined();
  });

  test('rel type and event type filters', async () => {
    const threads = await relations(bob, roomId, root, '/m.thread');
    expect(threads.status).toBe(200);
    expectValidResponseById('getRelatingEventsWithRelType', 200, threads.body);
    expect(ids(threads.body.chunk)).toEqual([...threadEvents].reverse());

    const reactions = await relations(bob, roomId, root, '/m.annotation/m.reaction');
    expect(reactions.status).toBe(200);
    expectValidResponseById('getRelatingEventsWithRelTypeAndEventType', 200, reactions.body);
    expect(ids(reactions.body.chunk)).toEqual([reaction]);

    const encryptedEdits = await relations(bob, roomId, root, '/m.replace/m.room.encrypted');
    expect(ids(encryptedEdits.body.chunk)).toEqual([...edits].reverse());
    expect(ids((await relations(bob, roomId, root, '/m.thread/m.reaction')).body.chunk)).toEqual([]);
    expect(ids((await relations(bob, roomId, root, '/org.example.none')).body.chunk)).toEqual([]);
  });

  test('pagination backwards and forwards covers every child once', async () => {
    const all = ids((await relations(alice, roomId, root, '', { limit: 100 })).body.chunk);
    expect(all).toHaveLength(6);
    const first = await relations(alice, roomId, root, '', { limit: 2 });
    expect(ids(first.body.chunk)).toEqual(all.slice(0, 2));
    expect(first.body.next_batch).toEqual(expect.any(String));
    expect(first.body.prev_batch).toBeUndefined();
    const second = await relations(alice, roomId, root, '', { limit: 2, from: first.body.next_batch });
    expect(ids(second.body.chunk)).toEqual(all.slice(2, 4));
    expect(second.body.prev_batch).toBe(first.body.next_batch);
    expect(await allPages(alice, roomId, root, { limit: 2 })).toEqual(all);
    expect(await allPages(alice, roomId, root, { limit: 4, dir: 'f' })).toEqual([...all].reverse());
    // `to` bounds the page: from page 1's start down to where page 1 ended gives page 1 only.
    const bounded = await relations(alice, roomId, root, '', { limit: 10, to: first.body.next_batch });
    expect(ids(bounded.body.chunk)).toEqual(all.slice(0, 2));
  });

  test('recurse includes children of children, filters apply at every depth', async () => {
    const flat = await relations(alice, roomId, root, '', { recurse: false });
    expect(flat.body.recursion_depth).toBe(1);
    expect(ids(flat.body.chunk)).not.toContain(nested);
    const deep = await relations(alice, roomId, root, '', { recurse: true, limit: 50 });
    expect(deep.status).toBe(200);
    expectValidResponseById('getRelatingEvents', 200, deep.body);
    expect(deep.body.recursion_depth).toBe(3);
    expect(ids(deep.body.chunk)).toEqual([nested, reaction, ...[...threadEvents].reverse(), ...[...edits].reverse()]);
    const annotations = await relations(alice, roomId, root, '/m.annotation', { recurse: true });
    expect(ids(annotations.body.chunk)).toEqual([nested, reaction]);
  });

  test('bundled aggregations on /event and /messages: m.thread and the latest valid m.replace', async () => {
    const bobEdit = await edit(bob, roomId, root); // not the sender's: never an edit
    const threadEdit = await edit(bob, roomId, threadEvents[2]);
    const res = await getEvent(bob, roomId, root);
    expect(res.status).toBe(200);
    expectValidResponseById('getOneRoomEvent', 200, res.body);
    const rel = res.body.unsigned['m.relations'];
    expect(rel['m.thread']).toEqual({ latest_event: expect.objectContaining({ event_id: threadEvents[2] }), count: 3, current_user_participated: true });
    // The latest event of the thread is itself aggregated (its edits).
    expect(rel['m.thread'].latest_event.unsigned['m.relations']['m.replace'].event_id).toBe(threadEdit);
    const editRows = await Promise.all(edits.map(async (id) => (await getEvent(alice, roomId, id)).body));
    const latest = [...editRows].sort((a, b) => b.origin_server_ts - a.origin_server_ts || (a.event_id < b.event_id ? 1 : -1))[0];
    expect(rel['m.replace']).toEqual(expect.objectContaining({ event_id: latest.event_id, sender: alice.userId, origin_server_ts: latest.origin_server_ts }));
    expect(rel['m.replace'].event_id).not.toBe(bobEdit);
    // The original's content is left as sent.
    expect(res.body.content['m.relates_to']).toBeUndefined();

    const messages = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(carol.auth);
    expect(messages.status).toBe(403); // carol never joined this (shared) room
    const page = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 50 }).set(alice.auth);
    expect(page.status).toBe(200);
    expectValidResponseById('getRoomEvents', 200, page.body);
    const inPage = page.body.chunk.find((e: { event_id: string }) => e.event_id === root);
    expect(inPage.unsigned['m.relations']['m.thread'].count).toBe(3);
    expect(inPage.unsigned['m.relations']['m.replace'].event_id).toBe(latest.event_id);
    // Participation is per requester: carol joins and has not posted.
    await join(carol, roomId);
    expect((await getEvent(carol, roomId, root)).body.unsigned['m.relations']['m.thread'].current_user_participated).toBe(false);
    await leave(carol, roomId);
  });

  test('m.reference is bundled as a chunk of event ids', async () => {
    const target = await send(alice, roomId);
    const ref = await send(bob, roomId, { rel_type: 'm.reference', event_id: target });
    const res = await getEvent(alice, roomId, target);
    expect(res.body.unsigned['m.relations']).toEqual({ 'm.reference': { chunk: [{ event_id: ref }] } });
  });

  test('a redacted relation is gone: from /relations and from the aggregations', async () => {
    const root2 = await send(alice, roomId);
    const e1 = await edit(alice, roomId, root2);
    const e2 = await edit(alice, roomId, root2);
    const th1 = await thread(bob, roomId, root2);
    const th2 = await thread(bob, roomId, root2);
    const [row] = await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM event_relations WHERE relates_to_id = ${root2}`;
    expect(row.n).toBe(4);
    await redact(bob, roomId, th2);
    const afterThread = await getEvent(alice, roomId, root2);
    expect(afterThread.body.unsigned['m.relations']['m.thread']).toEqual(expect.objectContaining({ count: 1, latest_event: expect.objectContaining({ event_id: th1 }) }));
    expect(ids((await relations(alice, roomId, root2, '/m.thread')).body.chunk)).toEqual([th1]);
    const remaining = [e1, e2];
    const current = (await getEvent(alice, roomId, root2)).body.unsigned['m.relations']['m.replace'].event_id;
    await redact(alice, roomId, current);
    const other = remaining.find((id) => id !== current)!;
    expect((await getEvent(alice, roomId, root2)).body.unsigned['m.relations']['m.replace'].event_id).toBe(other);
    expect(ids((await relations(alice, roomId, root2, '/m.replace')).body.chunk)).toEqual([other]);
    // A redacted original bundles no edit, though its thread stays.
    await redact(alice, roomId, root2);
    const redacted = await getEvent(alice, roomId, root2);
    expect(redacted.body.unsigned['m.relations']['m.replace']).toBeUndefined();
    expect(redacted.body.unsigned['m.relations']['m.thread'].count).toBe(1);
  });

  test('malformed requests', async () => {
    const unknown = await relations(alice, roomId, '$doesnotexist');
    expect(unknown.status).toBe(404);
    expectValidResponseById('getRelatingEvents', 404, unknown.body);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
    const otherRoom = await createRoom(alice);
    expect((await relations(alice, otherRoom, root)).status).toBe(404);
    expect((await relations(alice, '!nowhere:test.local', root)).status).toBe(404);
    for (const query of <Record<string, string | number>[]>[{ dir: 'x' }, { limit: 0 }, { limit: 'abc' }, { limit: -3 }, { recurse: 'maybe' }, { from: 'not-a-token' }, { to: 'x1' }]) {
      const res = await relations(alice, roomId, root, '', query);
      expect(res.status).toBe(400);
      expectMatrixError(res.body, 'M_INVALID_PARAM');
    }
    const noAuth = await t.http.get(`${V1}/rooms/${enc(roomId)}/relations/${enc(root)}`);
    expect(noAuth.status).toBe(401);
  });
});

describe('threads list', () => {
  let roomId: string;
  let rootA: string;
  let rootB: string;
  let rootC: string;
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    await join(bob, roomId);
    rootA = await send(alice, roomId);
    rootB = await send(bob, roomId);
    rootC = await send(alice, roomId);
    await thread(bob, roomId, rootA);
    await thread(alice, roomId, rootB);
    await thread(alice, roomId, rootC);
    await thread(alice, roomId, rootA); // rootA's thread is now the most recent
    await send(alice, roomId); // not a thread root
  });

  const threads = (user: TestUser, query: Record<string, string | number> = {}) =>
    t.http.get(`${V1}/rooms/${enc(roomId)}/threads`).query(query).set(user.auth);

  test('roots ordered by their latest thread event, with bundled aggregations', async () => {
    const res = await threads(alice);
    expect(res.status).toBe(200);
    expectValidResponseById('getThreadRoots', 200, res.body);
    expect(ids(res.body.chunk)).toEqual([rootA, rootC, rootB]);
    expect(res.body.chunk[0].unsigned['m.relations']['m.thread'].count).toBe(2);
    expect(res.body.next_batch).toBeUndefined();
  });

  test('include=participated: threads the user started or replied in', async () => {
    const res = await threads(bob, { include: 'participated' });
    expect(res.status).toBe(200);
    expect(ids(res.body.chunk)).toEqual([rootA, rootB]);
  });

  test('pagination with limit and from', async () => {
    const first = await threads(alice, { limit: 2 });
    expect(ids(first.body.chunk)).toEqual([rootA, rootC]);
    expect(first.body.next_batch).toEqual(expect.any(String));
    const second = await threads(alice, { limit: 2, from: first.body.next_batch });
    expect(ids(second.body.chunk)).toEqual([rootB]);
    expect(second.body.next_batch).toBeUndefined();
  });

  test('bad requests and non-members', async () => {
    for (const query of <Record<string, string | number>[]>[{ include: 'some' }, { limit: 0 }, { from: 'bad' }]) {
      const res = await threads(alice, query);
      expect(res.status).toBe(400);
      expectValidResponseById('getThreadRoots', 400, res.body);
    }
    const res = await threads(carol);
    expect(res.status).toBe(403);
    expectValidResponseById('getThreadRoots', 403, res.body);
  });
});

describe('event context', () => {
  let roomId: string;
  let events: string[];
  beforeAll(async () => {
    roomId = await createRoom(alice, { preset: 'public_chat' });
    events = [];
    for (let i = 0; i < 5; i++) events.push(await send(alice, roomId));
    await thread(alice, roomId, events[2]);
  });
  const context = (user: TestUser, eventId: string, query: Record<string, string | number> = {}) =>
    t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(eventId)}`).query(query).set(user.auth);

  test('events before and after, state, and /messages tokens', async () => {
    const res = await context(alice, events[2], { limit: 4 });
    expect(res.status).toBe(200);
    expectValidResponseById('getEventContext', 200, res.body);
    expect(res.body.event.event_id).toBe(events[2]);
    expect(res.body.event.unsigned['m.relations']['m.thread'].count).toBe(1);
    expect(ids(res.body.events_before)).toEqual([events[1], events[0]]);
    expect(ids(res.body.events_after)).toEqual([events[3], events[4]]);
    expect(res.body.state.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.member', 'm.room.encryption']));
    const back = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', from: res.body.start, limit: 1 }).set(alice.auth);
    expect(back.body.chunk[0].event_id).not.toBe(events[0]);
    expect(back.body.chunk[0].type).not.toBe('m.room.encrypted'); // the room's creation state precedes the messages
    const forward = await t.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'f', from: res.body.end, limit: 1 }).set(alice.auth);
    expect(forward.body.chunk[0].content['m.relates_to']).toEqual({ rel_type: 'm.thread', event_id: events[2] });
  });

  test('limit 0 still returns the event; a filter applies to the context only', async () => {
    const zero = await context(alice, events[1], { limit: 0 });
    expect(zero.status).toBe(200);
    expect(zero.body.event.event_id).toBe(events[1]);
    expect(zero.body.events_before).toEqual([]);
    expect(zero.body.events_after).toEqual([]);
    const filtered = await context(alice, events[4], { limit: 10, filter: JSON.stringify({ types: ['m.room.member'] }) });
    expect(filtered.status).toBe(200);
    expect(filtered.body.event.event_id).toBe(events[4]);
    expect(filtered.body.events_before.every((e: { type: string }) => e.type === 'm.room.member')).toBe(true);
    expect(filtered.body.state.every((e: { type: string }) => e.type === 'm.room.member')).toBe(true);
  });

  test('unknown event 404, bad limit or filter 400', async () => {
    const unknown = await context(alice, '$nope');
    expect(unknown.status).toBe(404);
    expectMatrixError(unknown.body, 'M_NOT_FOUND');
    for (const query of <Record<string, string | number>[]>[{ limit: -1 }, { limit: 'x' }, { filter: '{not json' }]) {
      const res = await context(alice, events[0], query);
      expect(res.status).toBe(400);
      expectMatrixError(res.body, 'M_INVALID_PARAM');
    }
  });
});

describe('history visibility', () => {
  test('a user who joined later under joined visibility sees no earlier relations', async () => {
    const roomId = await createRoom(alice, {
      preset: 'public_chat',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }],
    });
    const early = await send(alice, roomId);
    await thread(alice, roomId, early);
    await join(carol, roomId);
    // The earlier root is invisible: 404 alike for /relations, /context and /event; no thread listed.
    expect((await relations(carol, roomId, early)).status).toBe(404);
    expect((await t.http.get(`${V3}/rooms/${enc(roomId)}/context/${enc(early)}`).set(carol.auth)).status).toBe(404);
    expect((await getEvent(carol, roomId, early)).status).toBe(404);
    expect(ids((await t.http.get(`${V1}/rooms/${enc(roomId)}/threads`).set(carol.auth)).body.chunk)).toEqual([]);

    // A root carol can see, with a child sent while she had left: that child is not hers to see or count.
    const root = await send(alice, roomId);
    const seen = await thread(alice, roomId, root);
    await leave(carol, roomId);
    const unseen = await thread(alice, roomId, root);
    await join(carol, roomId);
    const after = await thread(alice, roomId, root);
    const res = await relations(carol, roomId, root);
    expect(res.status).toBe(200);
    expect(ids(res.body.chunk)).toEqual([after, seen]);
    expect(ids(res.body.chunk)).not.toContain(unseen);
    const bundled = (await getEvent(carol, roomId, root)).body.unsigned['m.relations']['m.thread'];
    expect(bundled.count).toBe(2);
    expect(bundled.latest_event.event_id).toBe(after);
    // Alice sees all three.
    expect((await getEvent(alice, roomId, root)).body.unsigned['m.relations']['m.thread'].count).toBe(3);
  });
});
