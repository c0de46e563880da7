/**
 * Sessions: a device's access token (and, when asked for, a rotating refresh token); a refresh token stays usable
 * until its replacement is used. Tokens resolve to a Requester in relay/authentication.ts.
 */
import { unknownToken } from '../errors.js';
import type { Hs, TxHs } from '../hs.js';
import { transaction, type Db } from '../db/database.js';
import * as tokens from '../db/tokens.js';
import { hashToken, newSecretToken } from '../lib/tokens.js';

export interface IssuedTokens {
  access_token: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

/** Issues tokens for a device; with `refreshable`, the access token expires and a refresh token comes with it. */
export async function issueTokens(
  hs: TxHs,
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
