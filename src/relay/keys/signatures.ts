/**
 * Signature checks on uploaded keys: Matrix canonical JSON (another-json) of the object without `signatures`
 * and `unsigned`, verified with ed25519 (node:crypto) against an unpadded-base64 public key.
 */
import { createPublicKey, verify } from 'node:crypto';
import anotherJson from 'another-json';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function canonicalJson(value: unknown): string {
  return anotherJson.stringify(value);
}

function fromUnpaddedBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** True when `obj.signatures[userId][keyId]` is a valid ed25519 signature of obj by `publicKey`. */
export function hasValidSignature(obj: Record<string, unknown>, userId: string, keyId: string, publicKey: string): boolean {
  const signatures = obj.signatures as Record<string, Record<string, unknown>> | undefined;
  const signature = signatures?.[userId]?.[keyId];
  if (typeof signature !== 'string') return false;
  const raw = fromUnpaddedBase64(publicKey);
  const sig = fromUnpaddedBase64(signature);
  if (!raw || raw.length !== 32 || !sig || sig.length !== 64) return false;
  const { signatures: _s, unsigned: _u, ...signed } = obj;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(canonicalJson(signed), 'utf8'), key, sig);
  } catch {
    return false;
  }
}
