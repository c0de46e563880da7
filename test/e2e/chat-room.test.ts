/**
 * A chat room with real matrix-js-sdk clients (Rust crypto): Bob sees Alice typing and stop typing, Alice sees
 * Bob's read receipt, and a threaded reply arrives encrypted and decrypts inside its thread; all under the default
 * rate limits.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { RoomEvent, RoomMemberEvent } from 'matrix-js-sdk';
import { registerUser, startTestServer, type TestServer } from '../support/server.js';
import { cryptoClient, decrypted, joined, startSyncing, stopAll, trackLongTimers, waitFor, type E2eClient } from '../support/e2e-clients.js';

trackLongTimers();

let t: TestServer;
let alice: E2eClient;
let bob: E2eClient;
let roomId: string;

beforeAll(async () => {
  // The default rate limits stay on (only login and registration, which the test does many of from one address,
  // are raised): real clients' bursts at login and while chatting must never meet them.
  t = await startTestServer({ rateLimits: true, loginRatePerMinute: 1000, registerRatePerMinute: 1000 });
  alice = await cryptoClient(t, await registerUser(t, 'alice_chat'), 'alice');
  bob = await cryptoClient(t, await registerUser(t, 'bob_chat'), 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
  roomId = (await alice.client.createRoom({ preset: 'public_chat' as never })).room_id;
  await joined(alice, roomId);
  await bob.client.joinRoom(roomId);
  await joined(bob, roomId);
  await waitFor([[alice.client, [RoomEvent.Timeline]]], () => (alice.client.getRoom(roomId)?.getMember(bob.user.userId)?.membership === 'join' ? true : undefined), 'alice to see bob join');
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

const isTyping = (c: E2eClient, userId: string) => c.client.getRoom(roomId)?.getMember(userId)?.typing === true;

test('typing starts and stops for the other member', async () => {
  const seen = waitFor([[bob.client, [RoomMemberEvent.Typing]]], () => (isTyping(bob, alice.user.userId) ? true : undefined), 'bob to see alice typing');
  await alice.client.sendTyping(roomId, true, 30_000);
  await seen;
  const stopped = waitFor([[bob.client, [RoomMemberEvent.Typing]]], () => (isTyping(bob, alice.user.userId) ? undefined : true), 'bob to see alice stop');
  await alice.client.sendTyping(roomId, false, 0);
  await stopped;
});

test('a read receipt reaches the sender', async () => {
  const { event_id: eventId } = await alice.client.sendTextMessage(roomId, 'please read me');
  const ev = await decrypted(bob, roomId, eventId);
  expect(ev.getContent().body).toBe('please read me');
  await bob.client.sendReadReceipt(ev);
  await waitFor(
    [[alice.client, [RoomEvent.Receipt]]],
    () => (alice.client.getRoom(roomId)?.getEventReadUpTo(bob.user.userId) === eventId ? true : undefined),
    'alice to see bob read her message',
  );
});

test('a threaded reply arrives encrypted and decrypts in its thread', async () => {
  const { event_id: rootId } = await alice.client.sendTextMessage(roomId, 'thread root');
  await decrypted(bob, roomId, rootId);
  const { event_id: replyId } = await bob.client.sendMessage(roomId, rootId, {
    msgtype: 'm.text',
    body: 'a reply in the thread',
    'm.relates_to': { rel_type: 'm.thread', event_id: rootId, is_falling_back: true, 'm.in_reply_to': { event_id: rootId } },
  } as never);
  const reply = await waitFor(
    [[alice.client, [RoomEvent.Timeline]]],
    () => {
      const room = alice.client.getRoom(roomId);
      const ev = room?.findEventById(replyId) ?? room?.getThread(rootId)?.findEventById(replyId);
      return ev && !ev.isBeingDecrypted() && ev.getType() === 'm.room.message' ? ev : undefined;
    },
    'alice to decrypt the threaded reply',
  );
  expect(reply.getWireType()).toBe('m.room.encrypted');
  expect(reply.getContent().body).toBe('a reply in the thread');
  expect(reply.threadRootId).toBe(rootId);
  // The server read the thread relation from the clear m.relates_to of the ciphertext.
  const threads = await t.http.get(`/_matrix/client/v1/rooms/${encodeURIComponent(roomId)}/threads`).set({ Authorization: `Bearer ${alice.user.accessToken}` });
  expect(threads.body.chunk.map((e: { event_id: string }) => e.event_id)).toContain(rootId);
});
