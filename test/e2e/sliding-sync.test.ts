/**
 * Simplified sliding sync with a real client: matrix-js-sdk's SlidingSync (SlidingSyncSdk, the unstable MSC4186
 * path) with Rust crypto for alice, /sync for bob. They chat in encrypted rooms and decrypt each other: the room keys
 * reach alice through the to_device extension, her device-list and key-count updates through the e2ee extension.
 * Afterwards no plaintext is anywhere in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import {
  baseUrlOf,
  cryptoClient,
  exchanges,
  invitedRoom,
  joined,
  plaintextTracker,
  seesMembership,
  startSyncing,
  stopAll,
  trackLongTimers,
  type E2eClient,
  knowsDevice,
  expectDecryptedMessage,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

const { tag, all: plaintexts, plain } = plaintextTracker();
const ROOM_NAME = `sliding room zr${tag}`;
const SLIDING_PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

let t: TestServer;
let users: Record<'alice' | 'bob', TestUser>;
let alice: E2eClient;
let bob: E2eClient;

beforeAll(async () => {
  t = await startTestServer();
  users = { alice: await registerUser(t, `alice${tag}`), bob: await registerUser(t, `bob${tag}`) };
  alice = await cryptoClient(t, users.alice, 'alice');
  bob = await cryptoClient(t, users.bob, 'bob');
  // Alice's room list: one window over every room, with all of their state (the sdk needs m.room.encryption and
  // the members), and the same for rooms she subscribes to.
  const config = { timeline_limit: 20, required_state: [['*', '*']] };
  // Long-polls of 5 s: the sdk processes a response's e2ee and to_device extensions before its rooms, so a member it
  // starts tracking (on seeing their join) is queried (/keys/query) only after the next response.
  const slidingSync = new SlidingSync(baseUrlOf(t), new Map([['all', { ...config, ranges: [[0, 19]] }]]), config, alice.client, 5_000);
  await Promise.all([startSyncing(alice, { slidingSync }), startSyncing(bob)]);
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

describe('sliding sync (matrix-js-sdk SlidingSync, Rust crypto) and /sync in encrypted rooms', () => {
  test('alice syncs only through sliding sync', () => {
    const mine = exchanges.filter((x) => x.client === 'alice');
    expect(mine.some((x) => x.path === SLIDING_PATH && x.status === 200)).toBe(true);
    expect(mine.some((x) => x.path.endsWith('/v3/sync'))).toBe(false);
  });

  test('alice (sliding sync) creates an encrypted room, bob (/sync) joins, both decrypt each other', async () => {
    const bobInvited = invitedRoom(bob);
    const roomId = (await alice.client.createRoom({ name: ROOM_NAME, invite: [users.bob.userId] })).room_id;
    expect(await bobInvited).toBe(roomId);
    const aliceSeesBob = seesMembership(alice, roomId, users.bob.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), joined(alice, roomId)]);
    await Promise.all([knowsDevice(alice, users.bob), knowsDevice(bob, users.alice)]);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);

    const fromAlice = plain('alice on sliding sync to bob');
    const e1 = (await alice.client.sendTextMessage(roomId, fromAlice)).event_id;
    await expectDecryptedMessage(bob, roomId, e1, fromAlice, users.alice.userId);

    // Bob's room key reaches alice only through the to_device extension.
    const fromBob = plain('bob on /sync to alice');
    const e2 = (await bob.client.sendTextMessage(roomId, fromBob)).event_id;
    await expectDecryptedMessage(alice, roomId, e2, fromBob, users.bob.userId);
  });

  test('bob invites alice to a second room; she sees the invite on sliding sync, joins, and they decrypt each other', async () => {
    const roomId = (await bob.client.createRoom({ name: `${ROOM_NAME} 2`, invite: [users.alice.userId] })).room_id;
    expect(await invitedRoom(alice)).toBe(roomId);
    const bobSeesAlice = seesMembership(bob, roomId, users.alice.userId, 'join');
    await alice.client.joinRoom(roomId);
    await Promise.all([bobSeesAlice, joined(alice, roomId)]);

    const fromBob = plain('bob in the second room');
    const e1 = (await bob.client.sendTextMessage(roomId, fromBob)).event_id;
    await expectDecryptedMessage(alice, roomId, e1, fromBob, users.bob.userId);
    const fromAlice = plain('alice in the second room');
    const e2 = (await alice.client.sendTextMessage(roomId, fromAlice)).event_id;
    await expectDecryptedMessage(bob, roomId, e2, fromAlice, users.alice.userId);
  });

  test('no plaintext anywhere in the database', async () => {
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, ROOM_NAME);
  });
});
