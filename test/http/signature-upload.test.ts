/**
 * POST /keys/signatures/upload as a hostile client tries it: every key of one user signing every object of the
 * same and another user. Only three pairings are allowed (self-signing key -> own device, own device -> own
 * master key, user-signing key -> another user's master key); anything else is a failure and stores nothing.
 * Also: who sees which signatures in /keys/query, who hears of them in device_lists.changed, and device ids
 * kept apart from cross-signing keys.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { KeyObject } from 'node:crypto';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { crossSigning, keyPair, makeDeviceKeys, signWith, type TestDeviceKeys } from '../support/device-keys.js';
import { login, asUser } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';

type Json = Record<string, unknown>;

interface Person {
  user: TestUser;
  device: TestDeviceKeys;
  cs: ReturnType<typeof crossSigning>;
}

let t: TestServer;
let alice: Person;
let bob: Person;
let carol: TestUser;
let room: string;

async function person(name: string): Promise<Person> {
  const user = await registerUser(t, name);
  const device = makeDeviceKeys(user.userId, user.deviceId);
  expect((await t.http.post(`${V3}/keys/upload`).set(user.auth).send({ device_keys: device.deviceKeys })).status).toBe(200);
  const cs = crossSigning(user.userId);
  expect((await t.http.post(`${V3}/keys/device_signing/upload`).set(user.auth).send(cs.body)).status).toBe(200);
  return { user, device, cs };
}

const upload = (u: TestUser, body: Json) => t.http.post(`${V3}/keys/signatures/upload`).set(u.auth).send(body);
const query = async (u: TestUser, of: string) => (await t.http.post(`${V3}/keys/query`).set(u.auth).send({ device_keys: { [of]: [] } })).body;
const sync = (u: TestUser, since?: string) => t.http.get(`${V3}/sync`).query(since ? { since, timeout: 0 } : {}).set(u.auth);

/** Every stored key object: a refused upload must leave all of them exactly as they were. */
async function storedKeys(): Promise<unknown> {
  const devices = await t.hs.sql`SELECT user_id, device_id, key_json FROM device_keys ORDER BY user_id, device_id`;
  const cross = await t.hs.sql`SELECT user_id, key_type, key_json FROM cross_signing_keys ORDER BY user_id, key_type`;
  return JSON.parse(JSON.stringify([devices, cross]));
}
const changeCount = async () => (await t.hs.sql`SELECT count(*)::int AS n FROM device_list_changes`)[0].n as number;

/** The signing keys of `p`, each with the key id it signs under. */
function signers(p: Person): Record<string, { keyId: string; priv: KeyObject }> {
  return {
    master: { keyId: `ed25519:${p.cs.master.pub}`, priv: p.cs.master.priv },
    self_signing: { keyId: `ed25519:${p.cs.ssk.pub}`, priv: p.cs.ssk.priv },
    user_signing: { keyId: `ed25519:${p.cs.usk.pub}`, priv: p.cs.usk.priv },
    device: { keyId: `ed25519:${p.user.deviceId}`, priv: p.device.privateKey },
  };
}

/** The objects of `p` one might sign, by the name the upload uses for them. */
function objects(p: Person): Record<string, { name: string; json: Json }> {
  return {
    device: { name: p.user.deviceId, json: p.device.deviceKeys },
    master: { name: p.cs.master.pub, json: p.cs.body.master_key },
    self_signing: { name: p.cs.ssk.pub, json: p.cs.body.self_signing_key },
    user_signing: { name: p.cs.usk.pub, json: p.cs.body.user_signing_key },
  };
}

beforeAll(async () => {
  t = await startTestServer();
  alice = await person('alice');
  bob = await person('bob');
  carol = await registerUser(t, 'carol');
  room = (await t.http.post(`${V3}/createRoom`).set(alice.user.auth).send({ preset: 'public_chat' })).body.room_id;
  for (const u of [bob.user, carol]) await t.http.post(`${V3}/join/${encodeURIComponent(room)}`).set(u.auth).send({});
});
afterAll(() => t.close());

describe('only the three allowed pairings', () => {
  // self:device->device is the device's own self-signature, stored at upload: sent again, it is a no-op.
  const allowed = new Set(['self:self_signing->device', 'self:device->master', 'other:user_signing->master', 'self:device->device']);
  const cases: [string, string, string][] = [];
  for (const whose of ['self', 'other']) for (const signer of ['master', 'self_signing', 'user_signing', 'device']) for (const object of ['device', 'master', 'self_signing', 'user_signing']) {
    if (!allowed.has(`${whose}:${signer}->${object}`)) cases.push([whose, signer, object]);
  }

  test.each(cases)("alice's signature on %s %s's ... by her %s key is refused", async (whose, signerName, objectName) => {
    const target = whose === 'self' ? alice : bob;
    const signer = signers(alice)[signerName];
    const object = objects(target)[objectName];
    const before = await storedKeys();
    const changes = await changeCount();
    const res = await upload(alice.user, { [target.user.userId]: { [object.name]: signWith(object.json, alice.user.userId, signer.keyId, signer.priv) } });
    expect(res.status).toBe(200);
    const f = res.body.failures[target.user.userId]?.[object.name];
    expect(f).toBeDefined();
    expect(['M_INVALID_SIGNATURE', 'M_NOT_FOUND', 'M_INVALID_PARAM']).toContain(f.errcode);
    expect(typeof f.error).toBe('string');
    expect(await storedKeys()).toEqual(before);
    expect(await changeCount()).toBe(changes);
  });
});

describe('the allowed pairings', () => {
  test("alice's self-signing key signs her device: stored, queried by others, and her room sharers hear of it", async () => {
    const bobStart = (await sync(bob.user)).body.next_batch;
    const { keyId, priv } = signers(alice).self_signing;
    const res = await upload(alice.user, { [alice.user.userId]: { [alice.user.deviceId]: signWith(alice.device.deviceKeys, alice.user.userId, keyId, priv) } });
    expect([res.status, res.body.failures]).toEqual([200, {}]);
    const q = await query(bob.user, alice.user.userId);
    expect(q.device_keys[alice.user.userId][alice.user.deviceId].signatures[alice.user.userId][keyId]).toBeDefined();
    expect((await sync(bob.user, bobStart)).body.device_lists.changed).toContain(alice.user.userId);
    // The same upload again changes nothing and fails nothing.
    const changes = await changeCount();
    const again = await upload(alice.user, { [alice.user.userId]: { [alice.user.deviceId]: signWith(alice.device.deviceKeys, alice.user.userId, keyId, priv) } });
    expect([again.status, again.body.failures, await changeCount()]).toEqual([200, {}, changes]);
  });

  test("alice's device signs her master key; an object that differs from the stored one fails", async () => {
    const { keyId, priv } = signers(alice).device;
    const master = alice.cs.body.master_key;
    const res = await upload(alice.user, { [alice.user.userId]: { [alice.cs.master.pub]: signWith(master, alice.user.userId, keyId, priv) } });
    expect([res.status, res.body.failures]).toEqual([200, {}]);
    expect((await query(carol, alice.user.userId)).master_keys[alice.user.userId].signatures[alice.user.userId][keyId]).toBeDefined();

    const before = await storedKeys();
    const altered = signWith({ ...master, usage: ['master', 'extra'] }, alice.user.userId, keyId, priv);
    const bad = await upload(alice.user, { [alice.user.userId]: { [alice.cs.master.pub]: altered } });
    expect(bad.body.failures[alice.user.userId][alice.cs.master.pub].errcode).toBe('M_INVALID_PARAM');
    expect(await storedKeys()).toEqual(before);
  });

  test("alice's user-signing key signs bob's master key: only alice sees it, and only alice hears of it", async () => {
    const aliceStart = (await sync(alice.user)).body.next_batch;
    const carolStart = (await sync(carol)).body.next_batch;
    const bobStart = (await sync(bob.user)).body.next_batch;
    const { keyId, priv } = signers(alice).user_signing;
    const res = await upload(alice.user, { [bob.user.userId]: { [bob.cs.master.pub]: signWith(bob.cs.body.master_key, alice.user.userId, keyId, priv) } });
    expect([res.status, res.body.failures]).toEqual([200, {}]);
    expect((await query(alice.user, bob.user.userId)).master_keys[bob.user.userId].signatures[alice.user.userId][keyId]).toBeDefined();
    for (const viewer of [bob.user, carol]) {
      expect((await query(viewer, bob.user.userId)).master_keys[bob.user.userId].signatures?.[alice.user.userId]).toBeUndefined();
    }
    expect((await sync(alice.user, aliceStart)).body.device_lists.changed).toContain(bob.user.userId);
    for (const [viewer, since] of [[carol, carolStart], [bob.user, bobStart]] as const) {
      expect((await sync(viewer, since)).body.device_lists?.changed ?? []).not.toContain(bob.user.userId);
    }
  });
});

describe('hostile uploads', () => {
  test("a signature claimed to be by another user (bob's real self-signing key on his device) is not alice's to upload", async () => {
    const before = await storedKeys();
    const { keyId, priv } = signers(bob).self_signing;
    const res = await upload(alice.user, { [bob.user.userId]: { [bob.user.deviceId]: signWith(bob.device.deviceKeys, bob.user.userId, keyId, priv) } });
    expect(res.body.failures[bob.user.userId][bob.user.deviceId].errcode).toBe('M_INVALID_SIGNATURE');
    const own = await upload(alice.user, { [alice.user.userId]: { [alice.user.deviceId]: signWith(alice.device.deviceKeys, bob.user.userId, keyId, priv) } });
    expect(own.body.failures[alice.user.userId][alice.user.deviceId].errcode).toBe('M_INVALID_SIGNATURE');
    expect(await storedKeys()).toEqual(before);
  });

  test('a valid signature beside a forged one stores neither; a wrong key under the right id fails', async () => {
    const before = await storedKeys();
    const { keyId } = signers(alice).user_signing;
    const forged = signWith(bob.cs.body.master_key, alice.user.userId, keyId, keyPair().priv);
    const res = await upload(alice.user, { [bob.user.userId]: { [bob.cs.master.pub]: forged } });
    expect(res.body.failures[bob.user.userId][bob.cs.master.pub].errcode).toBe('M_INVALID_SIGNATURE');
    const dev = signers(alice).device;
    const mixed = signWith(signWith(alice.cs.body.master_key, alice.user.userId, dev.keyId, dev.priv), alice.user.userId, 'ed25519:NOSUCHDEVICE', keyPair().priv);
    const res2 = await upload(alice.user, { [alice.user.userId]: { [alice.cs.master.pub]: mixed } });
    expect(res2.body.failures[alice.user.userId][alice.cs.master.pub].errcode).toBe('M_INVALID_SIGNATURE');
    expect(await storedKeys()).toEqual(before);
  });

  test('unknown targets, missing signing keys and odd shapes are failures, never errors', async () => {
    const dave = await registerUser(t, 'dave');
    const daveDevice = makeDeviceKeys(dave.userId, dave.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(dave.auth).send({ device_keys: daveDevice.deviceKeys });
    const before = await storedKeys();
    const k = keyPair();
    const bodies: Json[] = [
      { [dave.userId]: { NOSUCH: signWith({ a: 1 }, dave.userId, `ed25519:${k.pub}`, k.priv) } },
      // dave has no self-signing key / no user-signing key
      { [dave.userId]: { [dave.deviceId]: signWith(daveDevice.deviceKeys, dave.userId, `ed25519:${k.pub}`, k.priv) } },
      { [bob.user.userId]: { [bob.cs.master.pub]: signWith(bob.cs.body.master_key, dave.userId, `ed25519:${k.pub}`, k.priv) } },
      { [dave.userId]: { [dave.deviceId]: { ...daveDevice.deviceKeys, signatures: 'x' } } },
      { [dave.userId]: { [dave.deviceId]: { ...daveDevice.deviceKeys, signatures: { [dave.userId]: 'x' } } } },
      { [dave.userId]: { [dave.deviceId]: { ...daveDevice.deviceKeys, signatures: { [dave.userId]: { 'ed25519:x': 5 } } } } },
      { [dave.userId]: { [dave.deviceId]: { ...daveDevice.deviceKeys, signatures: { [dave.userId]: { '': '' } } } } },
      { [dave.userId]: { [dave.deviceId]: { ...daveDevice.deviceKeys, signatures: {} } } },
      { '@nobody:test.local': { X: {} } },
    ];
    for (const body of bodies) {
      const res = await upload(dave, body);
      expect(res.status).toBe(200);
      const [[, perKey]] = Object.entries(res.body.failures as Record<string, Record<string, { errcode: string }>>);
      expect(Object.values(perKey)[0].errcode).toMatch(/^M_(INVALID_SIGNATURE|NOT_FOUND|INVALID_PARAM)$/);
    }
    expect(await storedKeys()).toEqual(before);
  });

  test('concurrent signatures on one master key by two devices are both kept', async () => {
    const second = asUser((await login(t, alice.user.userId, alice.user.password)).body, alice.user.password);
    const secondKeys = makeDeviceKeys(second.userId, second.deviceId);
    await t.http.post(`${V3}/keys/upload`).set(second.auth).send({ device_keys: secondKeys.deviceKeys });
    const first = signers(alice).device;
    const master = alice.cs.body.master_key;
    const [a, b] = await Promise.all([
      upload(alice.user, { [alice.user.userId]: { [alice.cs.master.pub]: signWith(master, alice.user.userId, first.keyId, first.priv) } }),
      upload(second, { [alice.user.userId]: { [alice.cs.master.pub]: signWith(master, alice.user.userId, `ed25519:${second.deviceId}`, secondKeys.privateKey) } }),
    ]);
    expect([a.body.failures, b.body.failures]).toEqual([{}, {}]);
    const sigs = (await query(carol, alice.user.userId)).master_keys[alice.user.userId].signatures[alice.user.userId];
    expect(Object.keys(sigs)).toEqual(expect.arrayContaining([first.keyId, `ed25519:${second.deviceId}`]));
  });
});

describe("other users' signatures come only through signature upload, by them", () => {
  test('a cross-signing upload carrying a signature by another user is refused and stores nothing', async () => {
    const frank = await registerUser(t, 'frank');
    const cs = crossSigning(frank.userId);
    const k = keyPair();
    const master = signWith(cs.body.master_key, alice.user.userId, `ed25519:${k.pub}`, k.priv);
    const res = await t.http.post(`${V3}/keys/device_signing/upload`).set(frank.auth).send({ ...cs.body, master_key: master });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect(await t.hs.sql`SELECT 1 FROM cross_signing_keys WHERE user_id = ${frank.userId}`).toHaveLength(0);
  });

  test('device keys carrying a signature by another user are refused and not stored', async () => {
    const gina = await registerUser(t, 'gina');
    const k = keyPair();
    const keys = signWith(makeDeviceKeys(gina.userId, gina.deviceId).deviceKeys, alice.user.userId, `ed25519:${k.pub}`, k.priv);
    const res = await t.http.post(`${V3}/keys/upload`).set(gina.auth).send({ device_keys: keys });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect(await t.hs.sql`SELECT 1 FROM device_keys WHERE user_id = ${gina.userId}`).toHaveLength(0);
  });
});

describe('device ids and cross-signing keys never collide', () => {
  test('a login cannot take a cross-signing public key as its device id', async () => {
    const res = await login(t, alice.user.userId, alice.user.password, { device_id: alice.cs.master.pub });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  test('a cross-signing key cannot be an existing device id', async () => {
    const erin = await registerUser(t, 'erin');
    const k = keyPair();
    const logged = await login(t, erin.userId, erin.password, { device_id: k.pub });
    expect(logged.status).toBe(200);
    const cs = crossSigning(erin.userId);
    const master = { user_id: erin.userId, usage: ['master'], keys: { [`ed25519:${k.pub}`]: k.pub } };
    const res = await t.http.post(`${V3}/keys/device_signing/upload`).set(erin.auth).send({ ...cs.body, master_key: master,
      self_signing_key: signWith({ ...cs.body.self_signing_key, signatures: undefined }, erin.userId, `ed25519:${k.pub}`, k.priv),
      user_signing_key: signWith({ ...cs.body.user_signing_key, signatures: undefined }, erin.userId, `ed25519:${k.pub}`, k.priv) });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect(await t.hs.sql`SELECT 1 FROM cross_signing_keys WHERE user_id = ${erin.userId}`).toHaveLength(0);
  });
});
