/**
 * Two real matrix-js-sdk clients running their /sync loops against a listening server: alice creates a room and
 * invites bob, bob's client sees the invite and joins, and each sees the other's (Megolm-shaped) events arrive.
 * Encryption itself is not exercised here: the events are ciphertext-shaped, sent as they are.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import {
  ClientEvent,
  createClient,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type ICreateClientOpts,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type RoomMember,
} from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { releaseLongTimers, trackLongTimers } from '../support/e2e-clients.js';
import { megolm } from '../support/rooms.js';

type SdkLogger = NonNullable<ICreateClientOpts['logger']>;
(sdkGlobalLogger as unknown as { setLevel(level: 'silent'): void }).setLevel('silent');
const silentLogger: SdkLogger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, getChild: () => silentLogger };

const DEADLINE_MS = 15_000;

trackLongTimers();

let t: TestServer;
let aliceUser: TestUser;
let bobUser: TestUser;
let alice: MatrixClient;
let bob: MatrixClient;

function clientFor(baseUrl: string, u: TestUser): MatrixClient {
  return createClient({ baseUrl, userId: u.userId, deviceId: u.deviceId, accessToken: u.accessToken, logger: silentLogger });
}

/**
 * Resolves with the first value `check` returns (called now, on every `event` of `emitter`, and after every sync
 * the client processes, since the sdk fires some events before its models are updated), rejecting at a bounded
 * deadline: waiting on sdk events, never on sleeps.
 */
function waitFor<T>(emitter: MatrixClient, event: string, check: () => T | undefined, what: string): Promise<T> {
  const names = [...new Set([event, ClientEvent.Sync as string])];
  return new Promise<T>((resolve, reject) => {
    const onEvent = () => {
      const value = check();
      if (value !== undefined) {
        done();
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`));
    }, DEADLINE_MS);
    const events = emitter as unknown as NodeJS.EventEmitter;
    const done = () => {
      clearTimeout(timer);
      for (const name of names) events.off(name, onEvent);
    };
    for (const name of names) events.on(name, onEvent);
    onEvent();
  });
}

function startSyncing(client: MatrixClient): Promise<void> {
  const ready = waitFor(client, ClientEvent.Sync, () => (client.getSyncState() === SyncState.Prepared || client.getSyncState() === SyncState.Syncing ? true : undefined), 'the first sync');
  void client.startClient({ initialSyncLimit: 20 });
  return ready.then(() => {});
}

/** Waits until the client's room has an event with this id in its live timeline. */
function seesEvent(client: MatrixClient, roomId: string, eventId: string): Promise<MatrixEvent> {
  return waitFor(
    client,
    RoomEvent.Timeline,
    () => client.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getId() === eventId),
    `${client.getUserId()} to see ${eventId}`,
  );
}


beforeAll(async () => {
  t = await startTestServer();
  const baseUrl = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
  aliceUser = await registerUser(t, 'alice');
  bobUser = await registerUser(t, 'bob');
  alice = clientFor(baseUrl, aliceUser);
  bob = clientFor(baseUrl, bobUser);
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
});

afterAll(async () => {
  alice?.stopClient();
  bob?.stopClient();
  releaseLongTimers();
  await t.close();
});

test('alice invites bob, bob joins, and each sees the other’s events through /sync', async () => {
  // Bob's client learns of the invite through its sync loop: a Room in "invite" state and a member event for him.
  // (The invite may reach bob's client before alice's createRoom call returns: watch for any invited room.)
  const invitedRoom = () => bob.getRooms().find((r) => r.getMyMembership() === 'invite');
  const roomSeen = waitFor(bob, ClientEvent.Room, invitedRoom, 'bob to get the invited room');
  const invited = waitFor(bob, RoomMemberEvent.Membership, invitedRoom, 'bob to see the invite');
  const created = await alice.createRoom({ name: 'sdk room', invite: [bobUser.userId] });
  const roomId = created.room_id;
  const room: Room = await roomSeen;
  expect(await invited).toBe(room);
  expect(room.roomId).toBe(roomId);
  expect(room.getMember(bobUser.userId)?.events.member?.getSender()).toBe(aliceUser.userId);

  // Bob joins; alice's client sees his membership become "join".
  const aliceSeesJoin = waitFor(
    alice,
    RoomMemberEvent.Membership,
    () => (alice.getRoom(roomId)?.getMember(bobUser.userId)?.membership === 'join' ? true : undefined),
    'alice to see bob join',
  );
  await bob.joinRoom(roomId);
  await aliceSeesJoin;
  await waitFor(bob, RoomEvent.MyMembership, () => (bob.getRoom(roomId)?.getMyMembership() === 'join' ? true : undefined), 'bob to be joined');
  expect(bob.getRoom(roomId)!.currentState.getStateEvents('m.room.encryption', '')?.getContent()).toEqual({ algorithm: 'm.megolm.v1.aes-sha2' });
  expect(bob.getRoom(roomId)!.name).toBe('sdk room');

  // Each sends ciphertext-shaped events; the other's sync loop delivers them.
  const fromAlice = await alice.sendEvent(roomId, 'm.room.encrypted' as never, megolm('alice') as never);
  const seenByBob = await seesEvent(bob, roomId, fromAlice.event_id);
  expect(seenByBob.getSender()).toBe(aliceUser.userId);
  expect(seenByBob.getWireType()).toBe('m.room.encrypted');
  expect(seenByBob.getWireContent()).toMatchObject({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: megolm('alice').ciphertext });

  const fromBob = await bob.sendEvent(roomId, 'm.room.encrypted' as never, megolm('bob') as never);
  const seenByAlice = await seesEvent(alice, roomId, fromBob.event_id);
  expect(seenByAlice.getSender()).toBe(bobUser.userId);

  // Both clients hold the same live timeline tail, in the same order.
  const tail = (c: MatrixClient) =>
    c.getRoom(roomId)!.getLiveTimeline().getEvents().map((e) => e.getId()).filter((id) => id === fromAlice.event_id || id === fromBob.event_id);
  await seesEvent(bob, roomId, fromBob.event_id);
  expect(tail(alice)).toEqual([fromAlice.event_id, fromBob.event_id]);
  expect(tail(bob)).toEqual([fromAlice.event_id, fromBob.event_id]);

  const members = (c: MatrixClient) => c.getRoom(roomId)!.getJoinedMembers().map((m: RoomMember) => m.userId).sort();
  expect(members(alice)).toEqual([aliceUser.userId, bobUser.userId].sort());
  expect(members(bob)).toEqual([aliceUser.userId, bobUser.userId].sort());
});
