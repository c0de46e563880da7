/** Access and refresh tokens, stored only as SHA-256 hashes; rows are camelCase at this edge. */
import type { Db } from './database.js';

export interface AccessTokenRow {
  userId: string;
  deviceId: string;
  expiresTs: number | null;
  replacesRefreshHash: Buffer | null;
  isGuest: boolean;
  isAdmin: boolean;
  deactivated: boolean;
  lastSeenTs: number | null;
}

export async function selectAccessToken(db: Db, hash: Buffer): Promise<AccessTokenRow | undefined> {
  const [row] = await db<AccessTokenRow[]>`
    SELECT a.user_id, a.device_id, a.expires_ts, a.replaces_refresh_hash, u.is_guest, u.is_admin, u.deactivated, d.last_seen_ts
    FROM access_tokens a JOIN users u USING (user_id) JOIN devices d USING (user_id, device_id)
    WHERE a.token_hash = ${hash}`;
  return row;
}

/**
 * What the token's row says about it (relay/authentication.ts, confirmToken), for a write that confirms a cached
 * session inside its own transaction: undefined when the token is gone. The sync snapshot reads the same in its statement.
 */
export async function selectTokenFacts(db: Db, hash: Buffer, userId: string, deviceId: string): Promise<{ expiresTs: number | null; deactivated: boolean } | undefined> {
  const [row] = await db<{ expiresTs: number | null; deactivated: boolean }[]>`
    SELECT a.expires_ts, u.deactivated FROM access_tokens a JOIN users u USING (user_id)
    WHERE a.token_hash = ${hash} AND a.user_id = ${userId} AND a.device_id = ${deviceId}`;
  return row;
}

export async function insertAccessToken(
  db: Db,
  t: { hash: Buffer; userId: string; deviceId: string; expiresTs: number | null; refreshTokenHash: Buffer | null; replacesRefreshHash: Buffer | null },
): Promise<void> {
  await db`
    INSERT INTO access_tokens (token_hash, user_id, device_id, expires_ts, refresh_token_hash, replaces_refresh_hash)
    VALUES (${t.hash}, ${t.userId}, ${t.deviceId}, ${t.expiresTs}, ${t.refreshTokenHash}, ${t.replacesRefreshHash})`;
}

/** Ends every session of one device (access and refresh tokens); the device itself stays. */
export async function deleteDeviceTokens(db: Db, userId: string, deviceId: string): Promise<void> {
  await db`DELETE FROM access_tokens WHERE user_id = ${userId} AND device_id = ${deviceId}`;
  await db`DELETE FROM refresh_tokens WHERE user_id = ${userId} AND device_id = ${deviceId}`;
}

export async function deleteAccessTokensOfRefresh(db: Db, refreshHash: Buffer): Promise<void> {
  await db`DELETE FROM access_tokens WHERE refresh_token_hash = ${refreshHash}`;
}

/** The first use of a refreshed access token revokes the refresh token it replaced. */
export async function revokeReplacedRefreshToken(db: Db, accessHash: Buffer, refreshHash: Buffer): Promise<void> {
  await db`DELETE FROM refresh_tokens WHERE token_hash = ${refreshHash}`;
  await db`UPDATE access_tokens SET replaces_refresh_hash = NULL WHERE token_hash = ${accessHash}`;
}

export interface RefreshTokenRow {
  userId: string;
  deviceId: string;
  nextTokenHash: Buffer | null;
}

export async function selectRefreshTokenForUpdate(db: Db, hash: Buffer): Promise<RefreshTokenRow | undefined> {
  const [row] = await db<RefreshTokenRow[]>`
    SELECT user_id, device_id, next_token_hash FROM refresh_tokens WHERE token_hash = ${hash} FOR UPDATE`;
  return row;
}

export async function insertRefreshToken(db: Db, t: { hash: Buffer; userId: string; deviceId: string }): Promise<void> {
  await db`INSERT INTO refresh_tokens (token_hash, user_id, device_id) VALUES (${t.hash}, ${t.userId}, ${t.deviceId})`;
}

export async function deleteRefreshToken(db: Db, hash: Buffer): Promise<void> {
  await db`DELETE FROM refresh_tokens WHERE token_hash = ${hash}`;
}

/** Revokes the refresh token that `hash` replaced (once the newer one is used, the older one is dead). */
export async function deletePredecessorRefreshToken(db: Db, hash: Buffer): Promise<void> {
  await db`DELETE FROM refresh_tokens WHERE next_token_hash = ${hash}`;
}

export async function updateRefreshTokenNext(db: Db, hash: Buffer, next: Buffer): Promise<void> {
  await db`UPDATE refresh_tokens SET next_token_hash = ${next} WHERE token_hash = ${hash}`;
}
