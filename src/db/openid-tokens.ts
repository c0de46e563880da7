/** OpenID tokens, stored only as SHA-256 hashes with their owner and expiry; expired rows go when a new one comes. */
import type { Db } from './database.js';

/** Stores a new token and deletes the expired ones, in one statement. */
export async function insertOpenIdToken(db: Db, hash: Buffer, userId: string, expiresTs: number, now: number): Promise<void> {
  await db`
    WITH expired AS (DELETE FROM openid_tokens WHERE expires_ts <= ${now})
    INSERT INTO openid_tokens (token_hash, user_id, expires_ts) VALUES (${hash}, ${userId}, ${expiresTs})`;
}

/** The owner of a token that has not expired, if the account is still active. */
export async function selectOpenIdTokenOwner(db: Db, hash: Buffer, now: number): Promise<string | undefined> {
  const [row] = await db<{ userId: string }[]>`
    SELECT o.user_id FROM openid_tokens o JOIN users u USING (user_id)
    WHERE o.token_hash = ${hash} AND o.expires_ts > ${now} AND NOT u.deactivated`;
  return row?.userId;
}
