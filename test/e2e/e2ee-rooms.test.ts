/**
 * End-to-end encryption with real matrix-js-sdk clients and Rust crypto against the listening server: two users
 * decrypt each other, a later member decrypts what follows her join, a new device of a member gets the next room
 * key (device-list update), a fresh Olm session still starts once a device's one-time keys are gone (fallback key),
 * and afterwards no plaintext is anywhere in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestServer, TestUser } from '../support/server.js';
import {
  startAliceAndBob,
  cryptoClient,
  decrypted,
  exchanges,
  invitedRoom,
  joined,
  loginNewDevice,
  seesMembership,
  startSyncing,
  stopAll,
  trackLongTimers,
  waitForExchange,
  plaintextTracker,
  type E2eClient,
  knowsDevice,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

/** Distinctive plaintexts: the database scan at the end looks for each of them. */
const { tag, all: plaintexts, plain } = plaintextTracker();
const ROOM_NAME = `e2ee room zr${tag}`;

let t: TestServer;
let users: Record<'alice' | 'bob' | 'carol' | 'dave', TestUser>;
let alice: E2eClient;
let bob: E2eClient;
let roomId: string;

beforeAll(async () => {
  ({ t, users, alice, bob } = await startAliceAndBob(tag, ['carol', 'dave']));
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

/** Sends a text message and returns its event id. */
async function send(from: E2eClient, text: string): Promise<string> {
  return (await from.client.sendTextMessage(roomId, text)).event_id;
}

async function expectDecrypts(c: E2eClient, eventId: string, text: string, sender: string): Promise<void> {
  const ev = await decrypted(c, roomId, eventId);
  expect(ev.getWireType()).toBe('m.room.encrypted');
  expect(ev.getType()).toBe('m.room.message');
  expect(ev.getContent().body).toBe(text);
  expect(ev.getSender()).toBe(sender);
}

describe('e2ee rooms with matrix-js-sdk and Rust crypto', () => {
  test('alice and bob decrypt each other in an encrypted room', async () => {
    const bobInvited = invitedRoom(bob);
    roomId = (await alice.client.createRoom({ name: ROOM_NAME, invite: [users.bob.userId] })).room_id;
    expect(await bobInvited).toBe(roomId);
    const aliceSeesBob = seesMembership(alice, roomId, users.bob.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), joined(alice, roomId)]);
    // Each client learns the other's device (device_lists and /keys/query) before encrypting for it.
    await Promise.all([knowsDevice(alice, users.bob), knowsDevice(bob, users.alice)]);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);

    const fromAlice = plain('alice to bob');
    const e1 = await send(alice, fromAlice);
    await expectDecrypts(bob, e1, fromAlice, users.alice.userId);

    const fromBob = plain('bob to alice');
    const e2 = await send(bob, fromBob);
    await expectDecrypts(alice, e2, fromBob, users.bob.userId);
  });

  let carol: E2eClient;
  test('carol, invited later, decrypts what is sent after she joins', async () => {
    carol = await cryptoClient(t, users.carol, 'carol');
    await startSyncing(carol);
    const carolInvited = invitedRoom(carol);
    await alice.client.invite(roomId, users.carol.userId);
    await carolInvited;
    const seen = [seesMembership(alice, roomId, users.carol.userId, 'join'), seesMembership(bob, roomId, users.carol.userId, 'join')];
    await carol.client.joinRoom(roomId);
    await Promise.all([...seen, joined(carol, roomId)]);
    await Promise.all([knowsDevice(alice, users.carol), knowsDevice(bob, users.carol), knowsDevice(carol, users.alice), knowsDevice(carol, users.bob)]);

    const fromAlice = plain('alice after carol joined');
    const e3 = await send(alice, fromAlice);
    await Promise.all([expectDecrypts(carol, e3, fromAlice, users.alice.userId), expectDecrypts(bob, e3, fromAlice, users.alice.userId)]);

    const fromBob = plain('bob after carol joined');
    const e4 = await send(bob, fromBob);
    await Promise.all([expectDecrypts(carol, e4, fromBob, users.bob.userId), expectDecrypts(alice, e4, fromBob, users.bob.userId)]);

    const fromCarol = plain('carol to all');
    const e5 = await send(carol, fromCarol);
    await Promise.all([expectDecrypts(alice, e5, fromCarol, users.carol.userId), expectDecrypts(bob, e5, fromCarol, users.carol.userId)]);
  });

  let alice2: E2eClient;
  test("alice's second device decrypts bob's next message (device-list update)", async () => {
    const secondDevice = await loginNewDevice(t, users.alice);
    alice2 = await cryptoClient(t, secondDevice, 'alice2');
    await startSyncing(alice2);
    await joined(alice2, roomId);
    // Bob's client learns of the new device through device_lists.changed and /keys/query, then shares his key with it.
    await Promise.all([knowsDevice(bob, secondDevice), knowsDevice(carol, secondDevice), knowsDevice(alice, secondDevice)]);

    const fromBob = plain('bob to both alice devices');
    const e6 = await send(bob, fromBob);
    await Promise.all([expectDecrypts(alice2, e6, fromBob, users.bob.userId), expectDecrypts(alice, e6, fromBob, users.bob.userId)]);

    const fromCarol = plain('carol to both alice devices');
    const e7 = await send(carol, fromCarol);
    await expectDecrypts(alice2, e7, fromCarol, users.carol.userId);
  });

  test("a new user starts an Olm session with alice's fallback key once her one-time keys are gone", async () => {
    // Alice's first device may not replenish its one-time keys until the new session is set up.
    const releaseUploads = alice.hold((method, path) => method === 'POST' && path.endsWith('/keys/upload'));
    try {
      // Carol claims every one-time key of alice's first device, until the server hands out the fallback key.
      let claimed = 0;
      for (;;) {
        const res = await t.http
          .post('/_matrix/client/v3/keys/claim')
          .set(users.carol.auth)
          .send({ one_time_keys: { [users.alice.userId]: { [users.alice.deviceId]: 'signed_curve25519' } } });
        expect(res.status).toBe(200);
        const key = Object.values(res.body.one_time_keys[users.alice.userId][users.alice.deviceId] as Record<string, { fallback?: boolean }>)[0];
        if (key.fallback === true) break;
        claimed++;
        expect(claimed).toBeLessThan(500);
      }
      expect(claimed).toBeGreaterThan(0);

      const dave = await cryptoClient(t, users.dave, 'dave');
      await startSyncing(dave);
      const daveInvited = invitedRoom(dave);
      await alice.client.invite(roomId, users.dave.userId);
      await daveInvited;
      const seen = [alice, bob, carol, alice2].map((c) => seesMembership(c, roomId, users.dave.userId, 'join'));
      await dave.client.joinRoom(roomId);
      await Promise.all([...seen, joined(dave, roomId)]);
      // (Alice's first device is not among them: its held key upload also holds its /keys/query.)
      await Promise.all([bob, carol, alice2].map((c) => knowsDevice(c, users.dave)));

      const before = exchanges.length;
      const fromDave = plain('dave to all');
      const e8 = await send(dave, fromDave);
      // Dave's client claimed a key for alice's first device: the fallback key.
      const claim = await waitForExchange(
        (x) => x.client === 'dave' && x.path.endsWith('/keys/claim') && x.status === 200 && JSON.stringify(x.body).includes(users.alice.deviceId),
        "dave's claim of alice's key",
        before,
      );
      const aliceKey = Object.values((claim.body as { one_time_keys: Record<string, Record<string, Record<string, { fallback?: boolean }>>> }).one_time_keys[users.alice.userId][users.alice.deviceId])[0];
      expect(aliceKey.fallback).toBe(true);
      releaseUploads();
      await Promise.all([
        expectDecrypts(alice, e8, fromDave, users.dave.userId),
        expectDecrypts(alice2, e8, fromDave, users.dave.userId),
        expectDecrypts(bob, e8, fromDave, users.dave.userId),
        expectDecrypts(carol, e8, fromDave, users.dave.userId),
      ]);
      // Alice's device then replenishes its one-time keys (and replaces the used fallback key).
      await waitForExchange((x) => x.client === 'alice' && x.path.endsWith('/keys/upload') && x.status === 200, "alice's key upload", before);
    } finally {
      releaseUploads();
    }
  });

  test('no plaintext message is stored anywhere in the database', async () => {
    expect(plaintexts.length).toBe(8);
    // The room name is state, stored in the clear: it proves the scan finds what is there.
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, ROOM_NAME);
  });
});
