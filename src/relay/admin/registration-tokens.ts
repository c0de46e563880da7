/**
 * Server administration of registration tokens: create (a random token unless one is given), list, revoke.
 * A token's uses and expiry are checked here; the log names a token only by its fingerprint.
 */
import { randomBytes } from 'node:crypto';
import type { Hs } from '../../hs.js';
import { invalidParam, notFound } from '../../errors.js';
import { deleteRegistrationToken, insertRegistrationToken, selectRegistrationTokens } from '../../db/registration-tokens.js';
import { logAdminAction, tokenFingerprint } from './audit.js';

/** registration_tokens.uses_allowed is a PostgreSQL integer. */
export const MAX_USES = 2_147_483_647;
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export interface AdminRegistrationToken {
  token: string;
  /** null: unlimited. */
  uses_allowed: number | null;
  completed: number;
  /** Milliseconds since the epoch; null: never expires. */
  expiry_time: number | null;
  /** Usable now: not expired and not used up. */
  valid: boolean;
}

export async function createRegistrationToken(
  hs: Hs,
  admin: string,
  t: { token?: string; usesAllowed?: number | null; expiryTime?: number | null },
): Promise<AdminRegistrationToken> {
  const token = t.token ?? randomBytes(12).toString('base64url');
  if (!TOKEN_PATTERN.test(token)) throw invalidParam('A token is 1 to 64 characters of A-Z a-z 0-9 . _ ~ -');
  const usesAllowed = t.usesAllowed ?? null;
  if (usesAllowed !== null && (!Number.isSafeInteger(usesAllowed) || usesAllowed < 1 || usesAllowed > MAX_USES)) {
    throw invalidParam(`uses_allowed must be a whole number from 1 to ${MAX_USES}, or null for unlimited uses.`);
  }
  const expiryTs = t.expiryTime ?? null;
  if (expiryTs !== null && (!Number.isSafeInteger(expiryTs) || expiryTs <= Date.now())) {
    throw invalidParam('expiry_time must be a time in the future, in milliseconds since the epoch, or null for no expiry.');
  }
  if (!(await insertRegistrationToken(hs.sql, { token, usesAllowed, expiryTs }))) throw invalidParam('That token already exists.');
  logAdminAction(hs, admin, 'create_registration_token', { token_sha256: tokenFingerprint(token), uses_allowed: usesAllowed, expiry_time: expiryTs });
  return { token, uses_allowed: usesAllowed, completed: 0, expiry_time: expiryTs, valid: true };
}

export async function listRegistrationTokens(hs: Hs): Promise<AdminRegistrationToken[]> {
  const now = Date.now();
  return (await selectRegistrationTokens(hs.sql)).map((t) => ({
    token: t.token,
    uses_allowed: t.usesAllowed,
    completed: t.completed,
    expiry_time: t.expiryTs,
    valid: (t.expiryTs === null || t.expiryTs > now) && (t.usesAllowed === null || t.completed < t.usesAllowed),
  }));
}

export async function revokeRegistrationToken(hs: Hs, admin: string, token: string): Promise<void> {
  if (!(await deleteRegistrationToken(hs.sql, token))) throw notFound('No such token.');
  logAdminAction(hs, admin, 'revoke_registration_token', { token_sha256: tokenFingerprint(token) });
}
