/**
 * "Upgrade this room" as Element does it, with real matrix-js-sdk clients and Rust crypto: alice upgrades an
 * encrypted invite-only room with `client.upgradeRoom` and invites its members to the new one; bob's client sees the tombstone, follows `replacement_room` by joining
 * it with the tombstone sender's server as `via`, links the two rooms (getRoomUpgradeHistory, findPredecessor), hides
 * the old room from its room list (getVisibleRooms), and both go on chatting encrypted in the new room; then once more
 * to room version 12 (a room id made from the create event's hash). No plaintext reaches the database.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { RoomStateEvent } from 'matrix-js-sdk';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import {
  cryptoClient,
  decrypted,
  invitedRoom,
  joined,
  plaintextTracker,
  seesMembership,
  startSyncing,
  stopAll,
  trackLongTimers,
  waitFor,
  type E2eClient,
  knowsDevice,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

const { tag, all: plaintexts, plain } = plaintextTracker();
const ROOM_NAME = `upgrade room zr${tag}`;

let t: TestServer;
const users: Record<'alice' | 'bob', TestUser> = {} as never;
let alice: E2eClient;
let bob: E2eClient;

beforeAll(async () => {
  t = await startTestServer();
  for (const name of ['alice', 'bob'] as const) users[name] = await registerUser(t, `${name}${tag}`);
  alice = await cryptoClient(t, users.alice, 'alice');
  bob = await cryptoClient(t, users.bob, 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

async function expectDecrypts(c: E2eClient, roomId: string, eventId: string, text: string): Promise<void> {
  const ev = await decrypted(c, roomId, eventId);
  expect(ev.getWireType()).toBe('m.room.encrypted');
  expect(ev.getContent().body).toBe(text);
}

test('alice upgrades an encrypted room; bob follows the tombstone and they keep chatting encrypted', async () => {
  // An encrypted room, with a conversation in it.
  const bobInvited = invitedRoom(bob);
  const oldRoom = (await alice.client.createRoom({ name: ROOM_NAME, invite: [users.bob.userId] })).room_id;
  expect(await bobInvited).toBe(oldRoom);
  const aliceSeesBob = seesMembership(alice, oldRoom, users.bob.userId, 'join');
  await bob.client.joinRoom(oldRoom);
  await Promise.all([aliceSeesBob, joined(bob, oldRoom)]);
  await Promise.all([knowsDevice(alice, users.bob), knowsDevice(bob, users.alice)]);
  const before = plain('before the upgrade');
  await expectDecrypts(bob, oldRoom, (await alice.client.sendTextMessage(oldRoom, before)).event_id, before);

  // Element's "upgrade this room": POST /rooms/{roomId}/upgrade through the sdk.
  const { replacement_room: newRoom } = await alice.client.upgradeRoom(oldRoom, '11');
  await joined(alice, newRoom);
  // The room was invite-only, and so is its replacement: Element then invites the old room's members (its "invite
  // members" option), as alice does here.
  await alice.client.invite(newRoom, users.bob.userId);

  // Bob's client sees the tombstone and follows it as Element does: join by id, via the tombstone sender's server.
  const tombstone = await waitFor(
    [[bob.client, [RoomStateEvent.Events]]],
    () => bob.client.getRoom(oldRoom)?.currentState.getStateEvents('m.room.tombstone', '') ?? undefined,
    'bob to see the tombstone',
  );
  expect(tombstone.getContent().replacement_room).toBe(newRoom);
  const via = tombstone.getSender()!.split(':').slice(1).join(':');
  await bob.client.joinRoom(newRoom, { viaServers: [via] });
  await joined(bob, newRoom);

  // The sdk links the rooms both ways and shows only the new one in the room list.
  const newRoomModel = bob.client.getRoom(newRoom)!;
  expect(newRoomModel.getVersion()).toBe('11');
  expect(newRoomModel.findPredecessor()?.roomId).toBe(oldRoom);
  expect(bob.client.getRoomUpgradeHistory(oldRoom, true).map((r) => r.roomId)).toEqual([oldRoom, newRoom]);
  const visible = bob.client.getVisibleRooms().map((r) => r.roomId);
  expect(visible).toContain(newRoom);
  expect(visible).not.toContain(oldRoom);
  expect(newRoomModel.name).toBe(ROOM_NAME);
  expect(await bob.client.getCrypto()!.isEncryptionEnabledInRoom(newRoom)).toBe(true);

  // The conversation goes on, encrypted, both ways.
  await seesMembership(alice, newRoom, users.bob.userId, 'join');
  const fromAlice = plain('alice after the upgrade');
  await expectDecrypts(bob, newRoom, (await alice.client.sendTextMessage(newRoom, fromAlice)).event_id, fromAlice);
  const fromBob = plain('bob after the upgrade');
  await expectDecrypts(alice, newRoom, (await bob.client.sendTextMessage(newRoom, fromBob)).event_id, fromBob);

  // The old room is closed to plain members: bob (power 0) can no longer talk there.
  await expect(bob.client.sendTextMessage(oldRoom, plain('into the old room'))).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });

  // Once more, to room version 12 (the room id is then the create event's hash, the creator's power infinite).
  const { replacement_room: v12Room } = await alice.client.upgradeRoom(newRoom, '12');
  expect(v12Room).toMatch(/^![A-Za-z0-9_-]{43}$/);
  await joined(alice, v12Room);
  await alice.client.invite(v12Room, users.bob.userId);
  await waitFor([[bob.client, [RoomStateEvent.Events]]], () => bob.client.getRoom(newRoom)?.currentState.getStateEvents('m.room.tombstone', '') ?? undefined, 'bob to see the second tombstone');
  await bob.client.joinRoom(v12Room, { viaServers: [via] });
  await joined(bob, v12Room);
  expect(bob.client.getRoom(v12Room)!.getVersion()).toBe('12');
  expect(bob.client.getRoomUpgradeHistory(v12Room, true).map((r) => r.roomId)).toEqual([oldRoom, newRoom, v12Room]);
  expect(bob.client.getVisibleRooms().map((r) => r.roomId).filter((id) => [oldRoom, newRoom, v12Room].includes(id))).toEqual([v12Room]);
  await seesMembership(alice, v12Room, users.bob.userId, 'join');
  const inV12 = plain('alice in the v12 room');
  await expectDecrypts(bob, v12Room, (await alice.client.sendTextMessage(v12Room, inV12)).event_id, inV12);
  const backInV12 = plain('bob in the v12 room');
  await expectDecrypts(alice, v12Room, (await bob.client.sendTextMessage(v12Room, backInV12)).event_id, backInV12);

  await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, ROOM_NAME);
}, 120_000);
