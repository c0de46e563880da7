/**
 * /sync's use_state_after (spec v1.16, MSC4222) over HTTP: joined and left rooms carry `state_after`, the state at the
 * end of the timeline, instead of `state`: all of it on an initial sync or with full_state, else every state change
 * since `since` (those in the timeline too, those a filter kept out of it, those before a gap); lazy-loaded members
 * are the timeline senders' as at its end. Without the parameter, `state` (the state at the timeline's start) stays.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3, type SyncBody } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;

beforeAll(async () => ([t, [alice, bob, carol]] = await startWithUsers(3)));
afterAll(() => t.close());

const { createRoom, join, leave, send, setState, sync } = roomHelpers(() => t.http);

type Ev = { event_id: string; type: string; state_key?: string; sender: string; content: Record<string, unknown> };
const after = (body: SyncBody, roomId: string, section: 'join' | 'leave' = 'join'): Ev[] => {
  const room = body.rooms[section][roomId];
  expect(room.state).toBeUndefined();
  return room.state_after.events as Ev[];
};
const ids = (events: Ev[]) => events.map((e) => e.event_id);
const keyOf = (e: Ev) => `${e.type}|${e.state_key}`;

async function publicRoom(): Promise<string> {
  const roomId = await createRoom(alice, { preset: 'public_chat', name: 'state after', power_level_content_override: { state_default: 0 } });
  await join(bob, roomId);
  return roomId;
}

describe('use_state_after', () => {
  test('initial sync: all the current state, those in the timeline too; without it, `state` as before', async () => {
    const roomId = await publicRoom();
    const topic = await setState(bob, roomId, 'm.room.topic', '', { topic: 'last' });
    await send(alice, roomId, 'hello');
    const body = await sync(alice, { use_state_after: 'true' });
    const state = after(body, roomId);
    expect(ids(state)).toContain(topic);
    const current = await t.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(alice.auth);
    expect(current.status).toBe(200);
    expect(ids(state).sort()).toEqual(ids(current.body as Ev[]).sort());
    expect(new Set(state.map(keyOf)).size).toBe(state.length);
    expect(ids(body.rooms.join[roomId].timeline.events)).toContain(topic);
    const plain = (await sync(alice)).rooms.join[roomId];
    expect(plain.state_after).toBeUndefined();
    expect(plain.state).toBeDefined();
    // false is the default
    expect((await sync(alice, { use_state_after: 'false' })).rooms.join[roomId].state_after).toBeUndefined();
  });

  test('incremental: the state changes up to the end of the timeline, those in it included; `state` would be empty', async () => {
    const roomId = await publicRoom();
    const since = (await sync(alice)).next_batch;
    await send(bob, roomId, 'before');
    const topic = await setState(bob, roomId, 'm.room.topic', '', { topic: 'in the timeline' });
    await send(bob, roomId, 'after');
    const body = await sync(alice, { since, use_state_after: 'true' });
    expect(ids(body.rooms.join[roomId].timeline.events)).toContain(topic);
    expect(ids(after(body, roomId))).toEqual([topic]);
    expect((await sync(alice, { since })).rooms.join[roomId].state.events).toEqual([]);
    // Nothing new in the room: it is left out as before; an empty state_after when only the timeline moves.
    const next = body.next_batch;
    await send(bob, roomId, 'onlyamessage');
    expect(after(await sync(alice, { since: next, use_state_after: 'true' }), roomId)).toEqual([]);
  });

  test('incremental with a gap, and with a timeline filter that keeps state out of the timeline', async () => {
    const roomId = await publicRoom();
    const since = (await sync(alice)).next_batch;
    const name = await setState(alice, roomId, 'm.room.name', '', { name: 'renamed' });
    for (let i = 0; i < 4; i++) await send(bob, roomId, `gap${i}`);
    const topic = await setState(bob, roomId, 'm.room.topic', '', { topic: 'late' });
    await send(bob, roomId, 'end');
    const limited = await sync(alice, { since, use_state_after: 'true', filter: JSON.stringify({ room: { timeline: { limit: 2 } } }) });
    expect(limited.rooms.join[roomId].timeline.limited).toBe(true);
    expect(ids(limited.rooms.join[roomId].timeline.events)).toContain(topic);
    expect(ids(after(limited, roomId))).toEqual([name, topic]);
    // Only messages in the timeline: the state events are in state_after all the same.
    const messagesOnly = await sync(alice, { since, use_state_after: 'true', filter: JSON.stringify({ room: { timeline: { types: ['m.room.encrypted'] } } }) });
    expect(messagesOnly.rooms.join[roomId].timeline.limited).toBe(false);
    expect(ids(after(messagesOnly, roomId))).toEqual([name, topic]);
  });

  test('lazy-loaded members: the timeline senders\' member events as at its end', async () => {
    const roomId = await publicRoom();
    await join(carol, roomId);
    await send(carol, roomId, 'carolspeaks');
    const renamed = await setState(carol, roomId, 'm.room.member', carol.userId, { membership: 'join', displayname: 'Carol II' });
    const lazy = JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { limit: 2 } } });
    const body = await sync(alice, { use_state_after: 'true', filter: lazy });
    const members = after(body, roomId).filter((e) => e.type === 'm.room.member');
    // carol (a sender, at her latest member event) and alice (her own); bob sent nothing in the timeline
    expect(members.map((e) => [e.state_key, e.event_id]).sort()).toEqual(
      [[alice.userId, members.find((e) => e.state_key === alice.userId)!.event_id], [carol.userId, renamed]].sort(),
    );
    const plain = (await sync(alice, { filter: lazy })).rooms.join[roomId].state.events as Ev[];
    // `state` is the state at the timeline's start: carol's member event before the rename.
    const before = plain.find((e) => e.state_key === carol.userId);
    expect(before?.event_id).not.toBe(renamed);
    expect(before?.content.displayname).not.toBe('Carol II');
  });

  test('a left room carries state_after up to the leave', async () => {
    const roomId = await publicRoom();
    const since = (await sync(bob)).next_batch;
    const topic = await setState(alice, roomId, 'm.room.topic', '', { topic: 'before bob left' });
    await leave(bob, roomId);
    await setState(alice, roomId, 'm.room.topic', '', { topic: 'after bob left' });
    const body = await sync(bob, { since, use_state_after: 'true' });
    const state = after(body, roomId, 'leave');
    expect(ids(state)).toContain(topic);
    expect(state.find((e) => e.type === 'm.room.member' && e.state_key === bob.userId)?.content.membership).toBe('leave');
    expect(state.filter((e) => e.type === 'm.room.topic')).toHaveLength(1);
  });
});
