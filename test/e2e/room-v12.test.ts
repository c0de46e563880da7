/**
 * A room of version 12 with real matrix-js-sdk clients and Rust crypto: its id has no server part (it is the create
 * event's hash), the sdk sees the creator's unlimited power, an alias resolves to it, and encrypted messages are
 * decrypted both ways; afterwards no plaintext is anywhere in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
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
  type E2eClient,
  knowsDevice,
  expectDecryptedMessage,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

const { tag, all: plaintexts, plain } = plaintextTracker();

let t: TestServer;
let aliceUser: TestUser, bobUser: TestUser;
let alice: E2eClient, bob: E2eClient;

beforeAll(async () => {
  t = await startTestServer();
  aliceUser = await registerUser(t, `alice${tag}`);
  bobUser = await registerUser(t, `bob${tag}`);
  alice = await cryptoClient(t, aliceUser, 'alice');
  bob = await cryptoClient(t, bobUser, 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

describe('a version 12 room with matrix-js-sdk', () => {
  test('created by the sdk, joined by id and by alias, and encrypted both ways', async () => {
    const bobInvited = invitedRoom(bob);
    const { room_id: roomId } = await alice.client.createRoom({ room_version: '12', name: `v12 zr${tag}`, invite: [bobUser.userId] });
    expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
    expect(await bobInvited).toBe(roomId);

    const aliceSeesBob = seesMembership(alice, roomId, bobUser.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), joined(alice, roomId)]);

    // The sdk reads the room as v12: the creator is above every level, without being in the power levels.
    const room = bob.client.getRoom(roomId)!;
    expect(room.getVersion()).toBe('12');
    expect(room.getMember(aliceUser.userId)?.powerLevel).toBe(Infinity);
    expect(room.getMember(bobUser.userId)?.powerLevel).toBe(0);
    expect(room.currentState.getStateEvents('m.room.create', '')?.getId()).toBe(`$${roomId.slice(1)}`);

    // An alias names the room; resolving it gives the hash id back.
    const alias = `#v12${tag}:test.local`;
    await alice.client.createAlias(alias, roomId);
    expect((await bob.client.getRoomIdForAlias(alias)).room_id).toBe(roomId);

    await Promise.all([knowsDevice(alice, bobUser), knowsDevice(bob, aliceUser)]);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);

    const fromAlice = plain('alice in v12');
    const e1 = (await alice.client.sendTextMessage(roomId, fromAlice)).event_id;
    expect(e1).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    await expectDecryptedMessage(bob, roomId, e1, fromAlice, aliceUser.userId);

    const fromBob = plain('bob in v12');
    const e2 = (await bob.client.sendTextMessage(roomId, fromBob)).event_id;
    await expectDecryptedMessage(alice, roomId, e2, fromBob, bobUser.userId);

    // A redaction by the sdk (v11+ puts redacts in content): the ciphertext is gone from the server.
    await bob.client.redactEvent(roomId, e2);
    const res = await t.http.get(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(e2)}`).set(aliceUser.auth);
    expect(res.status).toBe(200);
    expect(res.body.content).toEqual({});
    expect(res.body.unsigned.redacted_because.content.redacts).toBe(e2);

    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, `v12 zr${tag}`);
  });
});
