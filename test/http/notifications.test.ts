/**
 * Push rules evaluated when an event is stored: who is notified (members but the sender, the invitee of an invite,
 * never a user who ignores the sender), by which rules (overrides, room, sender and underride rules, enabled flags,
 * member count, the sender's notification permission; content conditions never match ciphertext), with highlight;
 * /sync's unread_notifications agree with the stored notifications and go down with read receipts (also threaded
 * ones); GET /notifications (from, limit, only=highlight, read).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { enc, megolm, roomHelpers, V3 } from '../support/rooms.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
const h = roomHelpers(() => t.http);

beforeAll(async () => {
  t = await startTestServer();
  [alice, bob, carol] = [await registerUser(t), await registerUser(t), await registerUser(t)];
});
afterAll(() => t.close());

async function room(owner: TestUser, members: TestUser[]): Promise<string> {
  const roomId = await h.createRoom(owner, { preset: 'private_chat', invite: members.map((m) => m.userId) });
  for (const m of members) await h.join(m, roomId);
  return roomId;
}
async function counts(u: TestUser, roomId: string): Promise<{ notification_count: number; highlight_count: number }> {
  return (await h.sync(u)).rooms.join[roomId].unread_notifications;
}
async function notifications(u: TestUser, query: Record<string, string | number> = {}) {
  const res = await t.http.get(`${V3}/notifications`).query(query).set(u.auth);
  expect(res.status).toBe(200);
  expectValidResponseById('getNotifications', 200, res.body);
  return res.body as { notifications: { event: { event_id: string; room_id: string; type: string }; actions: unknown[]; read: boolean; room_id: string; ts: number }[]; next_token?: string };
}
const receipt = (u: TestUser, roomId: string, type: string, eventId: string, body: Record<string, unknown> = {}) =>
  t.http.post(`${V3}/rooms/${enc(roomId)}/receipt/${type}/${enc(eventId)}`).set(u.auth).send(body);
const putRule = (u: TestUser, kind: string, ruleId: string, body: Record<string, unknown>) =>
  t.http.put(`${V3}/pushrules/global/${kind}/${enc(ruleId)}`).set(u.auth).send(body);
const setEnabled = (u: TestUser, kind: string, ruleId: string, enabled: boolean) =>
  t.http.put(`${V3}/pushrules/global/${kind}/${enc(ruleId)}/enabled`).set(u.auth).send({ enabled });
const notifiedOf = async (eventId: string) =>
  (await t.hs.sql<{ userId: string; highlight: boolean }[]>`SELECT user_id, highlight FROM notifications WHERE event_id = ${eventId} ORDER BY user_id`).map((r) => [r.userId, r.highlight]);

describe('who is notified', () => {
  test("every joined member but the sender, by the default encrypted rules; counts agree with /sync and go down with receipts", async () => {
    const roomId = await room(alice, [bob, carol]);
    const e1 = await h.send(alice, roomId, 1);
    const e2 = await h.send(alice, roomId, 2);
    expect(await notifiedOf(e1)).toEqual([[bob.userId, false], [carol.userId, false]].sort());
    expect(await counts(bob, roomId)).toEqual({ notification_count: 2, highlight_count: 0 });
    expect(await counts(alice, roomId)).toEqual({ notification_count: 0, highlight_count: 0 });
    expect((await receipt(bob, roomId, 'm.read', e1)).status).toBe(200);
    expect(await counts(bob, roomId)).toEqual({ notification_count: 1, highlight_count: 0 });
    expect((await receipt(carol, roomId, 'm.read.private', e2)).status).toBe(200);
    expect(await counts(carol, roomId)).toEqual({ notification_count: 0, highlight_count: 0 });
    // GET /notifications agrees: bob's unread one is e2, e1 is read
    const list = (await notifications(bob)).notifications.filter((n) => n.room_id === roomId);
    expect(list.map((n) => [n.event.event_id, n.read])).toEqual([[e2, false], [e1, true]]);
    expect(list[0].actions).toEqual(['notify']); // 3 members: .m.rule.encrypted
  });

  test('a 1:1 room: .m.rule.encrypted_room_one_to_one (with sound); reactions, state and own events notify nobody', async () => {
    const roomId = await room(alice, [bob]);
    const e = await h.send(alice, roomId, 'dm');
    const n = (await notifications(bob)).notifications.find((x) => x.event.event_id === e)!;
    expect(n.actions).toEqual(['notify', { set_tweak: 'sound', value: 'default' }]);
    const reaction = await h.sendEvent(bob, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: e, key: '👍' } });
    const topic = await h.setState(alice, roomId, 'm.room.topic', '', { topic: 'hello' });
    expect(await notifiedOf(reaction)).toEqual([]);
    expect(await notifiedOf(topic)).toEqual([]);
  });

  test('an invite notifies the invitee (.m.rule.invite_for_me); members do not get it', async () => {
    const roomId = await room(alice, [bob]);
    await h.invite(alice, roomId, carol);
    const [row] = await t.hs.sql<{ userId: string; actions: unknown }[]>`
      SELECT n.user_id, n.actions FROM notifications n JOIN events e USING (stream_pos)
      WHERE e.room_id = ${roomId} AND e.type = 'm.room.member' AND e.state_key = ${carol.userId}`;
    expect(row).toEqual({ userId: carol.userId, actions: ['notify', { set_tweak: 'sound', value: 'default' }] });
  });

  test('a user who ignores the sender is never notified', async () => {
    const roomId = await room(alice, [bob, carol]);
    const put = await t.http.put(`${V3}/user/${enc(bob.userId)}/account_data/m.ignored_user_list`).set(bob.auth).send({ ignored_users: { [alice.userId]: {} } });
    expect(put.status).toBe(200);
    const e = await h.send(alice, roomId, 'ignored');
    expect(await notifiedOf(e)).toEqual([[carol.userId, false]]);
    expect(await counts(bob, roomId)).toEqual({ notification_count: 0, highlight_count: 0 });
    await t.http.put(`${V3}/user/${enc(bob.userId)}/account_data/m.ignored_user_list`).set(bob.auth).send({ ignored_users: {} });
    const e2 = await h.send(alice, roomId, 'notignored');
    expect((await notifiedOf(e2)).map(([u]) => u)).toContain(bob.userId);
  });
});

describe("the user's own rules", () => {
  let dave: TestUser;
  let roomId: string;
  beforeAll(async () => {
    dave = await registerUser(t);
    roomId = await room(alice, [dave, carol]);
  });

  test('a disabled default rule stops notifying; enabled again, it notifies', async () => {
    expect((await setEnabled(dave, 'underride', '.m.rule.encrypted', false)).status).toBe(200);
    expect(await notifiedOf(await h.send(alice, roomId, 'off'))).toEqual([[carol.userId, false]]);
    expect((await setEnabled(dave, 'underride', '.m.rule.encrypted', true)).status).toBe(200);
    expect((await notifiedOf(await h.send(alice, roomId, 'on'))).map(([u]) => u)).toContain(dave.userId);
  });

  test('an override on the sender with highlight: highlight_count; a room rule without notify: silence', async () => {
    expect((await putRule(dave, 'override', 'from-alice', {
      conditions: [{ kind: 'event_match', key: 'sender', pattern: alice.userId }, { kind: 'event_match', key: 'type', pattern: 'm.room.enc*' }],
      actions: ['notify', { set_tweak: 'highlight' }],
    })).status).toBe(200);
    const before = await counts(dave, roomId);
    const e = await h.send(alice, roomId, 'hl');
    expect(await notifiedOf(e)).toContainEqual([dave.userId, true]);
    const after = await counts(dave, roomId);
    expect(after).toEqual({ notification_count: before.notification_count + 1, highlight_count: before.highlight_count + 1 });
    const highlights = await notifications(dave, { only: 'highlight' });
    expect(highlights.notifications.map((n) => n.event.event_id)).toEqual([e]);
    await t.http.delete(`${V3}/pushrules/global/override/from-alice`).set(dave.auth);

    expect((await putRule(dave, 'room', roomId, { actions: [] })).status).toBe(200);
    expect(await notifiedOf(await h.send(alice, roomId, 'muted'))).toEqual([[carol.userId, false]]);
    await t.http.delete(`${V3}/pushrules/global/room/${enc(roomId)}`).set(dave.auth);
    expect((await putRule(dave, 'sender', carol.userId, { actions: ['dont_notify'] })).status).toBe(200);
    expect(await notifiedOf(await h.send(carol, roomId, 'fromcarol'))).toEqual([[alice.userId, false]]);
    expect((await notifiedOf(await h.send(alice, roomId, 'fromalice'))).map(([u]) => u)).toContain(dave.userId);
  });

  test('room_member_count and sender_notification_permission; content conditions never match ciphertext', async () => {
    const eve = await registerUser(t);
    const small = await room(alice, [eve, bob]);
    expect((await putRule(eve, 'override', 'powerful', {
      conditions: [{ kind: 'sender_notification_permission', key: 'room' }, { kind: 'room_member_count', is: '>=3' }],
      actions: ['notify', { set_tweak: 'highlight', value: true }],
    })).status).toBe(200);
    expect((await putRule(eve, 'override', 'body', { conditions: [{ kind: 'event_match', key: 'content.body', pattern: '*' }], actions: ['notify', { set_tweak: 'highlight' }] })).status).toBe(200);
    expect(await notifiedOf(await h.send(alice, small, 'creator'))).toContainEqual([eve.userId, true]); // alice has 100 >= 50
    expect(await notifiedOf(await h.send(bob, small, 'member'))).toContainEqual([eve.userId, false]); // bob has 0; .m.rule.encrypted
    await h.leave(bob, small);
    expect(await notifiedOf(await h.send(alice, small, 'twoleft'))).toEqual([[eve.userId, false]]); // 2 members now
  });

  test("a thread's receipt clears that thread's notifications only", async () => {
    const r = await room(alice, [bob]);
    const root = await h.send(alice, r, 'root');
    const inThread = await h.send(alice, r, 'reply', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    await h.send(alice, r, 'mainagain');
    expect(await counts(bob, r)).toEqual({ notification_count: 3, highlight_count: 0 });
    expect((await receipt(bob, r, 'm.read', inThread, { thread_id: root })).status).toBe(200);
    expect(await counts(bob, r)).toEqual({ notification_count: 2, highlight_count: 0 });
    const last = (await notifications(bob)).notifications.find((n) => n.room_id === r)!;
    expect((await receipt(bob, r, 'm.read', last.event.event_id, { thread_id: 'main' })).status).toBe(200);
    expect(await counts(bob, r)).toEqual({ notification_count: 0, highlight_count: 0 });
  });
});

describe('unread_thread_notifications (filter room.timeline)', () => {
  const threaded = JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } });
  test('the main timeline counted apart from each thread, each cleared by its own receipt; without the flag all together', async () => {
    const r = await room(alice, [bob]);
    const root = await h.send(alice, r, 'troot');
    const other = await h.send(alice, r, 'troot2');
    const reply = await h.send(alice, r, 'treply', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    await h.send(alice, r, 'treply2', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
    const reply3 = await h.send(alice, r, 'treply3', { 'm.relates_to': { rel_type: 'm.thread', event_id: other } });
    const sync = async () => (await h.sync(bob, { filter: threaded })).rooms.join[r];
    let joined = await sync();
    expect(joined.unread_notifications).toEqual({ notification_count: 2, highlight_count: 0 });
    expect(joined.unread_thread_notifications).toEqual({
      [root]: { notification_count: 2, highlight_count: 0 },
      [other]: { notification_count: 1, highlight_count: 0 },
    });
    expect(await counts(bob, r)).toEqual({ notification_count: 5, highlight_count: 0 });
    expect((await h.sync(bob)).rooms.join[r].unread_thread_notifications).toBeUndefined();
    // A thread's receipt clears that thread (up to the receipt), the main timeline's receipt the main timeline.
    expect((await receipt(bob, r, 'm.read', reply, { thread_id: root })).status).toBe(200);
    expect((await receipt(bob, r, 'm.read.private', other, { thread_id: 'main' })).status).toBe(200);
    joined = await sync();
    expect(joined.unread_notifications).toEqual({ notification_count: 0, highlight_count: 0 });
    expect(joined.unread_thread_notifications).toEqual({
      [root]: { notification_count: 1, highlight_count: 0 },
      [other]: { notification_count: 1, highlight_count: 0 },
    });
    // An unthreaded receipt clears everything before it: no thread left, the object is left out.
    expect((await receipt(bob, r, 'm.read', reply3)).status).toBe(200);
    joined = await sync();
    expect(joined.unread_notifications).toEqual({ notification_count: 0, highlight_count: 0 });
    expect(joined.unread_thread_notifications).toBeUndefined();
    // Incremental: a new reply shows in its thread's count only.
    const since = (await h.sync(bob, { filter: threaded })).next_batch;
    await h.send(alice, r, 'treply4', { 'm.relates_to': { rel_type: 'm.thread', event_id: other } });
    joined = (await h.sync(bob, { filter: threaded, since })).rooms.join[r];
    expect(joined.unread_notifications).toEqual({ notification_count: 0, highlight_count: 0 });
    expect(joined.unread_thread_notifications).toEqual({ [other]: { notification_count: 1, highlight_count: 0 } });
  });
});

describe('GET /notifications', () => {
  test('newest first, paged with next_token and limit; a bad token: 400; no token: 401', async () => {
    const frank = await registerUser(t);
    const r = await room(alice, [frank]);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push(await h.send(alice, r, `page${i}`));
    // (frank's invite notified him too, until he joined: counts start at a join)
    const first = await notifications(frank, { limit: 2 });
    expect(first.notifications.map((n) => n.event.event_id)).toEqual([sent[4], sent[3]]);
    expect(first.next_token).toBeDefined();
    const second = await notifications(frank, { limit: 2, from: first.next_token! });
    expect(second.notifications.map((n) => n.event.event_id)).toEqual([sent[2], sent[1]]);
    const rest = await notifications(frank, { from: second.next_token! });
    expect(rest.notifications.map((n) => n.event.event_id)).toEqual([sent[0]]);
    expect(rest.next_token).toBeUndefined();
    expect(rest.notifications[0].event).toMatchObject({ type: 'm.room.encrypted', sender: alice.userId, content: megolm('page0') });
    const bad = await t.http.get(`${V3}/notifications`).query({ from: 'nonsense' }).set(frank.auth);
    expect(bad.status).toBe(400);
    expectMatrixError(bad.body, 'M_INVALID_PARAM');
    expectMatrixError((await t.http.get(`${V3}/notifications`)).body, 'M_MISSING_TOKEN');
  });
});
