/** Secret tokens: 256 random bits, shown once to the client, kept only as a SHA-256 hash. */
import { createHash, randomBytes } from 'node:crypto';

export function newSecretToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Short random identifiers (device ids, UIA sessions): not secrets, only unique. */
export function randomId(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
