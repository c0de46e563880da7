/** Cross-signing over HTTP: key upload (first without UIA), master-signed sub-keys, signature upload, query. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { crossSigning, keyPair, makeDeviceKeys, signWith } from '../support/device-keys.js';
import { V3 } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser;

beforeAll(async () => ([t, [alice, bob]] = await startWithUsers(['alice', 'bob'])));
afterAll(() => t.close());

describe('cross-signing', () => {
  const keys = () => aliceCs;
  let aliceCs: ReturnType<typeof crossSigning>;

  test('the first upload needs no UIA; the same keys again need none; replacing needs the password', async () => {
    aliceCs = crossSigning(alice.userId);
    const first = await t.http.post(`${V3}/keys/device_signing/upload`).set(alice.auth).send(aliceCs.body);
    expect(first.status).toBe(200);
    expect((await t.http.post(`${V3}/keys/device_signing/upload`).set(alice.auth).send(aliceCs.body)).status).toBe(200);
    const replacement = crossSigning(alice.userId);
    const noAuth = await t.http.post(`${V3}/keys/device_signing/upload`).set(alice.auth).send(replacement.body);
    expect(noAuth.status).toBe(401);
    expect(noAuth.body.flows).toEqual([{ stages: ['m.login.password'] }]);
  });

  test('a self-signing key not signed by the master key is refused', async () => {
    const cs = crossSigning(bob.userId);
    const forged = { ...cs.body, self_signing_key: { ...cs.body.self_signing_key, signatures: {} } };
    const res = await t.http.post(`${V3}/keys/device_signing/upload`).set(bob.auth).send(forged);
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect(await t.hs.sql`SELECT 1 FROM cross_signing_keys WHERE user_id = ${bob.userId}`).toHaveLength(0);
  });

  test('a device signed by the self-signing key keeps the signature; a bad one is a failure; query shows them', async () => {
    const dk = makeDeviceKeys(alice.userId, alice.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ device_keys: dk.deviceKeys });
    const { ssk } = keys();
    const signedDevice = signWith(dk.deviceKeys, alice.userId, `ed25519:${ssk.pub}`, ssk.priv);
    const badDevice = signWith(dk.deviceKeys, alice.userId, `ed25519:${ssk.pub}`, keyPair().priv);
    const ok = await t.http.post(`${V3}/keys/signatures/upload`).set(alice.auth).send({ [alice.userId]: { [alice.deviceId]: signedDevice } });
    expect([ok.status, ok.body.failures]).toEqual([200, {}]);
    const bad = await t.http.post(`${V3}/keys/signatures/upload`).set(alice.auth).send({ [alice.userId]: { [alice.deviceId]: badDevice } });
    expect(bad.body.failures[alice.userId][alice.deviceId].errcode).toBe('M_INVALID_SIGNATURE');

    const q = await t.http.post(`${V3}/keys/query`).set(bob.auth).send({ device_keys: { [alice.userId]: [] } });
    expect(q.body.master_keys[alice.userId].keys).toEqual(keys().body.master_key.keys);
    expect(q.body.self_signing_keys[alice.userId]).toBeDefined();
    expect(q.body.user_signing_keys[alice.userId]).toBeUndefined();
    expect(q.body.device_keys[alice.userId][alice.deviceId].signatures[alice.userId][`ed25519:${ssk.pub}`]).toBeDefined();
    const own = await t.http.post(`${V3}/keys/query`).set(alice.auth).send({ device_keys: { [alice.userId]: [] } });
    expect(own.body.user_signing_keys[alice.userId]).toBeDefined();
  });
});
