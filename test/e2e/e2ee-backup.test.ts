/**
 * Cross-signing, secret storage and server-side key backup with real matrix-js-sdk clients and Rust crypto: alice
 * bootstraps all three, her room keys reach /room_keys, and a new login of hers restores them through secret storage
 * and decrypts the old messages; afterwards no plaintext is anywhere in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { AuthDict, MatrixError } from 'matrix-js-sdk';
import { CryptoEvent, type GeneratedSecretStorageKey } from 'matrix-js-sdk/lib/crypto-api/index.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import {
  cryptoClient,
  decrypted,
  exchanges,
  invitedRoom,
  joined,
  loginNewDevice,
  seesMembership,
  startSyncing,
  stop,
  stopAll,
  trackLongTimers,
  traffic,
  waitFor,
  waitForExchange,
  plaintextTracker,
  type E2eClient,
  knowsDevice,
} from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';

trackLongTimers();

/** Distinctive plaintexts: the database scan at the end looks for each of them. */
const { tag, all: plaintexts, plain } = plaintextTracker();

let t: TestServer;
let aliceUser: TestUser;
let bobUser: TestUser;
let alice: E2eClient;
let bob: E2eClient;
let roomId: string;
/** Alice's secret storage key, as a person would keep it; both of her devices answer secret-storage prompts with it. */
let recoveryKey: GeneratedSecretStorageKey | undefined;
const secretStorageKey = () => recoveryKey?.privateKey;
const sent: { eventId: string; text: string; sender: string }[] = [];

beforeAll(async () => {
  t = await startTestServer();
  aliceUser = await registerUser(t, `alice${tag}`);
  bobUser = await registerUser(t, `bob${tag}`);
  alice = await cryptoClient(t, aliceUser, 'alice', { secretStorageKey });
  bob = await cryptoClient(t, bobUser, 'bob');
  await Promise.all([startSyncing(alice), startSyncing(bob)]);
}, 60_000);

afterAll(async () => {
  stopAll();
  await t?.close();
});

/** The session ids the server's current backup holds for the room. */
async function backedUpSessions(version: string): Promise<string[]> {
  const res = await t.http.get(`/_matrix/client/v3/room_keys/keys/${encodeURIComponent(roomId)}`).query({ version }).set(aliceUser.auth);
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  return Object.keys(res.body.sessions ?? {});
}

describe('cross-signing and key backup with matrix-js-sdk and Rust crypto', () => {
  test('alice and bob exchange encrypted messages', async () => {
    const bobInvited = invitedRoom(bob);
    roomId = (await alice.client.createRoom({ name: 'backup room', invite: [bobUser.userId] })).room_id;
    await bobInvited;
    const aliceSeesBob = seesMembership(alice, roomId, bobUser.userId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([aliceSeesBob, joined(bob, roomId), knowsDevice(alice, bobUser), knowsDevice(bob, aliceUser)]);
    for (const [from, to, text] of [
      [alice, bob, plain('alice before backup')],
      [bob, alice, plain('bob before backup')],
    ] as const) {
      const { event_id } = await from.client.sendTextMessage(roomId, text);
      expect((await decrypted(to, roomId, event_id)).getContent().body).toBe(text);
      sent.push({ eventId: event_id, text, sender: from.user.userId });
    }
  });

  test('alice bootstraps cross-signing, secret storage and key backup; her room keys reach the server', async () => {
    const crypto = alice.client.getCrypto()!;
    const uiaStages: string[] = [];
    const authUploadDeviceSigningKeys = async <T>(makeRequest: (auth: AuthDict | null) => Promise<T>): Promise<T> => {
      try {
        return await makeRequest(null);
      } catch (err) {
        const e = err as MatrixError;
        if (e.httpStatus !== 401 || typeof e.data?.session !== 'string') throw err;
        uiaStages.push(...((e.data.flows as { stages: string[] }[] | undefined) ?? []).flatMap((f) => f.stages));
        return makeRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: aliceUser.userId }, password: aliceUser.password, session: e.data.session });
      }
    };
    // The first upload goes without UIA on this server (allowed right after login): the callback passes straight through.
    await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys });
    expect(uiaStages).toEqual([]);
    expect(await crypto.getCrossSigningKeyId()).not.toBeNull();
    expect(await crypto.isCrossSigningReady()).toBe(true);

    const backupPutsBefore = exchanges.length;
    const key = await crypto.createRecoveryKeyFromPassphrase();
    await crypto.bootstrapSecretStorage({
      createSecretStorageKey: async () => {
        recoveryKey = key;
        return key;
      },
      setupNewSecretStorage: true,
      setupNewKeyBackup: true,
    });
    expect(await crypto.isSecretStorageReady()).toBe(true);
    const version = await crypto.getActiveSessionBackupVersion();
    expect(version).not.toBeNull();

    // The backup loop uploads alice's room keys; wait (on her HTTP traffic) until the server holds all of them.
    const roomSessions = [...new Set((await crypto.exportRoomKeys()).filter((k) => k.room_id === roomId).map((k) => k.session_id))];
    expect(roomSessions.length).toBeGreaterThanOrEqual(2);
    await waitForExchange((x) => x.client === 'alice' && x.method === 'PUT' && x.path.endsWith('/room_keys/keys') && x.status === 200, 'the backup upload', backupPutsBefore);
    await waitFor(
      [[traffic, ['exchange']]],
      async () => {
        const held = await backedUpSessions(version!);
        return roomSessions.every((s) => held.includes(s)) ? true : undefined;
      },
      'every room session in the backup',
    );
    // Bob's client sees alice's cross-signing identity (a device-list change).
    await waitFor(
      [[bob.client, [CryptoEvent.DevicesUpdated, CryptoEvent.UserTrustStatusChanged]]],
      async () => ((await bob.client.getCrypto()!.userHasCrossSigningKeys(aliceUser.userId)) ? true : undefined),
      "bob to see alice's cross-signing keys",
    );
  });

  test("a new login of alice restores the room keys from the backup and decrypts the old messages", async () => {
    stop(alice); // her old device is gone from the picture: the keys can only come from the backup
    const newLogin = await loginNewDevice(t, aliceUser);
    const alice3 = await cryptoClient(t, newLogin, 'alice-new', { secretStorageKey });
    await startSyncing(alice3);
    await joined(alice3, roomId);
    const crypto = alice3.client.getCrypto()!;

    // The old messages are there, but not decryptable yet.
    const old = await waitFor(
      [[alice3.client, ['Event.decrypted']]],
      () => {
        const evs = sent.map((s) => alice3.client.getRoom(roomId)?.findEventById(s.eventId));
        return evs.every((e) => e && !e.isBeingDecrypted() && e.isDecryptionFailure()) ? evs : undefined;
      },
      'the old messages to fail to decrypt on the new login',
    );
    expect(old.length).toBe(2);

    // The backup key comes from secret storage (account data, decrypted with the recovery key), then the restore.
    await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
    expect(await crypto.getSessionBackupPrivateKey()).not.toBeNull();
    const result = await crypto.restoreKeyBackup();
    expect(result.imported).toBeGreaterThanOrEqual(2);

    for (const s of sent) {
      const ev = await decrypted(alice3, roomId, s.eventId);
      expect(ev.getContent().body).toBe(s.text);
      expect(ev.getSender()).toBe(s.sender);
    }
  });

  test('no plaintext message is stored anywhere in the database', async () => {
    expect(plaintexts.length).toBe(2);
    // The room name is state, stored in the clear: it proves the scan finds what is there.
    await expectNoPlaintextInDatabase(t.hs.sql, plaintexts, 'backup room');
  });
});
