/**
 * In-room verification with real matrix-js-sdk clients and Rust crypto: alice verifies bob from a DM room (what
 * Element does from a user's profile) by SAS. matrix-js-sdk sends the verification events in the clear even in an
 * encrypted room; the policy allows exactly their shapes. Both sides compare the same emoji, confirm, and end with
 * the other user verified; afterwards no plaintext is anywhere in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuthDict, MatrixError } from 'matrix-js-sdk';
import { CryptoEvent, VerificationPhase, VerifierEvent, type ShowSasCallbacks, type VerificationRequest, type Verifier } from 'matrix-js-sdk/lib/crypto-api/index.js';
import type { TestServer, TestUser } from '../support/server.js';
import {
  startAliceAndBob,
  decrypted,
  invitedRoom,
  joined,
  plaintextTracker,
  seesMembership,
  stopAll,
  trackLongTimers,
  waitFor,
  type E2eClient,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

const { tag, all: plaintexts, plain } = plaintextTracker();

let t: TestServer;
let users: Record<'alice' | 'bob', TestUser>;
let alice: E2eClient;
let bob: E2eClient;
let roomId: string;

/** Every room event the clients PUT, as sent (type and content), to show what travels in the clear. */
const sentRoomEvents: { type: string; content: Record<string, unknown>; status: number }[] = [];
const realFetch = globalThis.fetch;

beforeAll(async () => {
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const m = /\/rooms\/[^/]+\/send\/([^/]+)\//.exec(url.pathname);
    if (m && typeof init?.body === 'string') sentRoomEvents.push({ type: decodeURIComponent(m[1]), content: JSON.parse(init.body), status: res.status });
    return res;
  };
  ({ t, users, alice, bob } = await startAliceAndBob(tag));
}, 60_000);

afterAll(async () => {
  stopAll();
  globalThis.fetch = realFetch;
  await t?.close();
});

async function bootstrapCrossSigning(c: E2eClient): Promise<void> {
  const crypto = c.client.getCrypto()!;
  await crypto.bootstrapCrossSigning({
    authUploadDeviceSigningKeys: async <T>(makeRequest: (auth: AuthDict | null) => Promise<T>): Promise<T> => {
      try {
        return await makeRequest(null);
      } catch (err) {
        const e = err as MatrixError;
        if (e.httpStatus !== 401 || typeof e.data?.session !== 'string') throw err;
        return makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: c.user.userId }, password: c.user.password, session: e.data.session });
      }
    },
  });
  expect(await crypto.isCrossSigningReady()).toBe(true);
}

/** Waits until `c` knows `other`'s cross-signing identity (a device-list change, then /keys/query). */
function knowsIdentity(c: E2eClient, other: TestUser): Promise<true> {
  return waitFor(
    [[c.client, [CryptoEvent.UserTrustStatusChanged, CryptoEvent.KeysChanged, CryptoEvent.DevicesUpdated]]],
    async () => ((await c.client.getCrypto()!.userHasCrossSigningKeys(other.userId, true)) ? true : undefined),
    `${c.name} to know ${other.userId}'s cross-signing identity`,
  );
}

function verifiedBy(c: E2eClient, other: TestUser): Promise<true> {
  return waitFor(
    [[c.client, [CryptoEvent.UserTrustStatusChanged]]],
    async () => ((await c.client.getCrypto()!.getUserVerificationStatus(other.userId)).isCrossSigningVerified() ? true : undefined),
    `${c.name} to trust ${other.userId}`,
  );
}

function phase(c: E2eClient, request: VerificationRequest, wanted: VerificationPhase): Promise<true> {
  return waitFor([[request as never, ['change']]], () => (request.phase === wanted ? true : undefined), `${c.name}'s request to reach phase ${VerificationPhase[wanted]}`);
}

function showSas(c: E2eClient, verifier: Verifier): Promise<ShowSasCallbacks> {
  return waitFor([[verifier as never, [VerifierEvent.ShowSas]]], () => verifier.getShowSasCallbacks() ?? undefined, `${c.name} to show the SAS`);
}

describe('in-room verification by SAS with matrix-js-sdk and Rust crypto', () => {
  test('alice and bob share an encrypted DM room and have cross-signing identities', async () => {
    await Promise.all([bootstrapCrossSigning(alice), bootstrapCrossSigning(bob)]);
    const bobInvited = invitedRoom(bob);
    roomId = (await alice.client.createRoom({ is_direct: true, invite: [users.bob.userId] })).room_id;
    await bobInvited;
    const aliceSeesBob = seesMembership(alice, roomId, users.bob.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), joined(alice, roomId)]);
    expect(await alice.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true);
    await Promise.all([knowsIdentity(alice, users.bob), knowsIdentity(bob, users.alice)]);
    // A message both decrypt: the room works as usual before and after the verification.
    const text = plain('alice before verifying');
    const { event_id } = await alice.client.sendTextMessage(roomId, text);
    expect((await decrypted(bob, roomId, event_id)).getContent().body).toBe(text);
  });

  test('alice verifies bob in the room: both see the same emoji, confirm, and end verified', async () => {
    const bobRequest = waitFor<VerificationRequest>(
      [[bob.client, [CryptoEvent.VerificationRequestReceived]]],
      () => bob.client.getCrypto()!.findVerificationRequestDMInProgress(roomId, users.alice.userId),
      'bob to receive the verification request',
    );
    const aliceRequest = await alice.client.getCrypto()!.requestVerificationDM(users.bob.userId, roomId);
    const request = await bobRequest;
    expect(request.roomId).toBe(roomId);
    await request.accept();
    await Promise.all([phase(alice, aliceRequest, VerificationPhase.Ready), phase(bob, request, VerificationPhase.Ready)]);

    const aliceVerifier = await aliceRequest.startVerification('m.sas.v1');
    await phase(bob, request, VerificationPhase.Started);
    const bobVerifier = request.verifier!;
    expect(bobVerifier).toBeDefined();
    const aliceDone = aliceVerifier.verify();
    const bobDone = bobVerifier.verify();
    const [aliceSas, bobSas] = await Promise.all([showSas(alice, aliceVerifier), showSas(bob, bobVerifier)]);
    expect(aliceSas.sas.emoji).toHaveLength(7);
    expect(aliceSas.sas.emoji).toEqual(bobSas.sas.emoji);
    await Promise.all([aliceSas.confirm(), bobSas.confirm()]);
    await Promise.all([aliceDone, bobDone]);
    await Promise.all([phase(alice, aliceRequest, VerificationPhase.Done), phase(bob, request, VerificationPhase.Done)]);

    // What travelled in the clear: the request as an m.room.message, then each step, every one accepted.
    const steps = sentRoomEvents.filter((e) => e.type !== 'm.room.encrypted');
    expect(steps.map((e) => [e.type, e.status])).toEqual(expect.arrayContaining([['m.room.message', 200], ['m.key.verification.ready', 200], ['m.key.verification.start', 200], ['m.key.verification.accept', 200], ['m.key.verification.key', 200], ['m.key.verification.mac', 200], ['m.key.verification.done', 200]]));
    expect(steps.every((e) => e.status === 200)).toBe(true);
    expect(steps[0].content.msgtype).toBe('m.key.verification.request');
    // Each side signs the other's master key with its user-signing key (POST /keys/signatures/upload) and trusts it.
    await Promise.all([verifiedBy(alice, users.bob), verifiedBy(bob, users.alice)]);
  });

  test('a plaintext m.room.message is still refused in the room', async () => {
    // (The sdk would encrypt it: sent raw, as a careless client would.)
    const res = await t.http.put(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/clear1`).set(users.alice.auth)
      .send({ msgtype: 'm.text', body: plain('clear text after verifying') });
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
  });

  test('no plaintext anywhere in the database', async () => {
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts);
  });
});
