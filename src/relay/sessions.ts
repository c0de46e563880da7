/**
 * Sessions: a device's access token (and, when asked for, a rotating refresh token). Tokens resolve to a
 * Requester; an expired token is a soft logout; a refresh token stays usable until its replacement is used.
 */
import { unknownToken } from '../errors.js';
import type { Hs } from '../hs.js';
import { transaction, type Db } from '../db/database.js';
import * as tokens from '../db/tokens.js';
import { updateDeviceLastSeen } from '../db/devices.js';
import { hashToken, newSecretToken } from './tokens.js';
import { cachedSession, LAST_SEEN_GRANULARITY_MS, rememberSession } from './session-cache.js';

export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
  isAdmin: boolean;
  tokenHash: Buffer;
  /** Resolved from the session cache: the handler's own read must confirm the token (relay/session-cache.ts). */
  unconfirmed?: boolean;
}

export interface IssuedTokens {
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export async function resolveAccessToken(hs: Hs, token: string): Promise<Requester> {
  const hash = hashToken(token);
  const row = await tokens.selectAccessToken(hs.sql, hash);
  if (!row || row.deactivated) throw unknownToken('Unknown access token.');
  const now = Date.now();
  if (row.expiresTs !== null && row.expiresTs <= now) throw unknownToken('The access token has expired; refresh it.', true);
  if (row.replacesRefreshHash) await tokens.revokeReplacedRefreshToken(hs.sql, hash, row.replacesRefreshHash);
  let lastSeen = row.lastSeenTs ?? now;
  // Marked as seen at most every LAST_SEEN_GRANULARITY_MS, so that authentication stays a read.
  if (row.lastSeenTs === null || now - row.lastSeenTs > LAST_SEEN_GRANULARITY_MS) {
    await updateDeviceLastSeen(hs.sql, row.userId, row.deviceId, now);
    lastSeen = now;
  }
  const requester: Requester = { userId: row.userId, deviceId: row.deviceId, isGuest: row.isGuest, isAdmin: row.isAdmin, tokenHash: hash };
  rememberSession(hs, requester, row.expiresTs, lastSeen);
  return requester;
}

/**
 * For endpoints that confirm the token in their own read: the cached requester (unconfirmed) when there is one,
 * else the full check.
 */
export async function resolveAccessTokenForConfirmingRead(hs: Hs, token: string): Promise<Requester> {
  return cachedSession(hs, hashToken(token)) ?? resolveAccessToken(hs, token);
}

/** Issues tokens for a device; with `refreshable`, the access token expires and a refresh token comes with it. */
export async function issueTokens(
  hs: Hs,
  db: Db,
  userId: string,
  deviceId: string,
  refreshable: boolean,
  replacesRefreshHash: Buffer | null = null,
): Promise<IssuedTokens> {
  const accessToken = newSecretToken('sct');
  if (!refreshable) {
    await tokens.insertAccessToken(db, { hash: hashToken(accessToken), userId, deviceId, expiresTs: null, refreshTokenHash: null, replacesRefreshHash });
    return { access_token: accessToken };
  }
  const refreshToken = newSecretToken('scr');
  const refreshHash = hashToken(refreshToken);
  const lifetime = hs.config.accessTokenLifetimeMs;
  await tokens.insertRefreshToken(db, { hash: refreshHash, userId, deviceId });
  await tokens.insertAccessToken(db, {
    hash: hashToken(accessToken), userId, deviceId, expiresTs: Date.now() + lifetime, refreshTokenHash: refreshHash, replacesRefreshHash,
  });
  return { access_token: accessToken, refresh_token: refreshToken, expires_in_ms: lifetime };
}

/**
 * Exchanges a refresh token for a new pair. The old access token dies now; the old refresh token lives until the
 * new pair is used (so a response lost in transit can be retried), then it is refused.
 */
export async function refreshSession(hs: Hs, refreshToken: string): Promise<IssuedTokens> {
  const hash = hashToken(refreshToken);
  return transaction(hs.sql, async (tx) => {
    const row = await tokens.selectRefreshTokenForUpdate(tx, hash);
    if (!row) throw unknownToken('Unknown or revoked refresh token.');
    if (row.nextTokenHash) await tokens.deleteRefreshToken(tx, row.nextTokenHash);
    await tokens.deletePredecessorRefreshToken(tx, hash);
    await tokens.deleteAccessTokensOfRefresh(tx, hash);
    const issued = await issueTokens(hs, tx, row.userId, row.deviceId, true, hash);
    await tokens.updateRefreshTokenNext(tx, hash, hashToken(issued.refresh_token!));
    return issued;
  });
}
