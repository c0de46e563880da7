/** Real signed device keys for tests: an ed25519 key pair per device, signing over Matrix canonical JSON. */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../src/relay/keys/signatures.js';

const unpadded = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

export interface TestDeviceKeys {
  publicKey: string;
  privateKey: KeyObject;
  deviceKeys: Record<string, unknown>;
  sign(obj: Record<string, unknown>): Record<string, unknown>;
}

export function makeDeviceKeys(userId: string, deviceId: string): TestDeviceKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = unpadded(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  const signObj = (obj: Record<string, unknown>) => {
    const { signatures: _s, unsigned: _u, ...rest } = obj;
    const sig = unpadded(sign(null, Buffer.from(canonicalJson(rest)), privateKey));
    return { ...rest, signatures: { [userId]: { [`ed25519:${deviceId}`]: sig } } };
  };
  const deviceKeys = signObj({
    user_id: userId,
    device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`ed25519:${deviceId}`]: pub, [`curve25519:${deviceId}`]: unpadded(randomBytes(32)) },
  });
  return { publicKey: pub, privateKey, deviceKeys, sign: signObj };
}

/** n signed_curve25519 one-time keys with ids AAAA0, AAAA1, ... signed by the device. */
export function oneTimeKeys(k: TestDeviceKeys, n: number, prefix = 'AAAA'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) out[`signed_curve25519:${prefix}${i}`] = k.sign({ key: unpadded(randomBytes(32)) });
  return out;
}

/** An ed25519 key pair: the unpadded-base64 public key and the private key. */
export function keyPair(): { pub: string; priv: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { pub: unpadded(publicKey.export({ format: 'der', type: 'spki' }).subarray(12)), priv: privateKey };
}

/** `obj` with one more signature, by `keyId` of `userId`, over its canonical JSON (without signatures and unsigned). */
export function signWith(obj: Record<string, unknown>, userId: string, keyId: string, priv: KeyObject): Record<string, unknown> {
  const { signatures, unsigned: _u, ...rest } = obj as { signatures?: Record<string, Record<string, string>>; unsigned?: unknown };
  const sig = unpadded(sign(null, Buffer.from(canonicalJson(rest)), priv));
  return { ...rest, signatures: { ...(signatures ?? {}), [userId]: { ...(signatures?.[userId] ?? {}), [keyId]: sig } } };
}

/** A user's three cross-signing key pairs and the /keys/device_signing/upload body (sub-keys signed by the master). */
export function crossSigning(userId: string) {
  const master = keyPair();
  const ssk = keyPair();
  const usk = keyPair();
  const key = (usage: string, pub: string) => ({ user_id: userId, usage: [usage], keys: { [`ed25519:${pub}`]: pub } });
  return {
    master,
    ssk,
    usk,
    body: {
      master_key: key('master', master.pub) as Record<string, unknown>,
      self_signing_key: signWith(key('self_signing', ssk.pub), userId, `ed25519:${master.pub}`, master.priv),
      user_signing_key: signWith(key('user_signing', usk.pub), userId, `ed25519:${master.pub}`, master.priv),
    },
  };
}
