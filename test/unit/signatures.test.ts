import { describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, sign } from 'node:crypto';
import { canonicalJson, hasValidSignature } from '../../src/relay/keys/signatures.js';

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  return { publicKey: raw.toString('base64').replace(/=+$/, ''), privateKey };
}

function signed(obj: Record<string, unknown>, userId: string, keyId: string, privateKey: ReturnType<typeof keyPair>['privateKey']) {
  const sig = sign(null, Buffer.from(canonicalJson(obj)), privateKey).toString('base64').replace(/=+$/, '');
  return { ...obj, signatures: { [userId]: { [keyId]: sig } } };
}

describe('key signatures', () => {
  test('canonical JSON sorts keys and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,2]},"b":1}');
  });

  test('a valid signature verifies; unsigned is ignored; tampering fails', () => {
    const { publicKey, privateKey } = keyPair();
    const keys = { user_id: '@a:x', device_id: 'DEV', algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { 'ed25519:DEV': publicKey } };
    const obj = signed(keys, '@a:x', 'ed25519:DEV', privateKey);
    expect(hasValidSignature(obj, '@a:x', 'ed25519:DEV', publicKey)).toBe(true);
    expect(hasValidSignature({ ...obj, unsigned: { device_display_name: 'x' } }, '@a:x', 'ed25519:DEV', publicKey)).toBe(true);
    expect(hasValidSignature({ ...obj, device_id: 'OTHER' }, '@a:x', 'ed25519:DEV', publicKey)).toBe(false);
    expect(hasValidSignature(obj, '@a:x', 'ed25519:OTHER', publicKey)).toBe(false);
    expect(hasValidSignature(obj, '@a:x', 'ed25519:DEV', keyPair().publicKey)).toBe(false);
    expect(hasValidSignature(obj, '@a:x', 'ed25519:DEV', 'not base64!')).toBe(false);
  });
});
