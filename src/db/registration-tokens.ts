/** Registration tokens: how many uses are allowed, how many completed, and when they expire. */
import type { Db } from './database.js';

export interface RegistrationTokenRow {
  token: string;
  usesAllowed: number | null;
  completed: number;
  expiryTs: number | null;
  createdTs: number;
}

export async function insertRegistrationToken(db: Db, t: { token: string; usesAllowed: number | null; expiryTs: number | null }): Promise<boolean> {
  const rows = await db`
    INSERT INTO registration_tokens (token, uses_allowed, expiry_ts, created_ts)
    VALUES (${t.token}, ${t.usesAllowed}, ${t.expiryTs}, ${Date.now()}) ON CONFLICT DO NOTHING RETURNING 1`;
  return rows.length === 1;
}

export async function selectRegistrationTokens(db: Db): Promise<RegistrationTokenRow[]> {
  return db<RegistrationTokenRow[]>`SELECT * FROM registration_tokens ORDER BY created_ts`;
}

export async function selectUsableRegistrationToken(db: Db, token: string, now: number): Promise<RegistrationTokenRow | undefined> {
  const [row] = await db<RegistrationTokenRow[]>`
    SELECT * FROM registration_tokens
    WHERE token = ${token} AND (uses_allowed IS NULL OR completed < uses_allowed) AND (expiry_ts IS NULL OR expiry_ts > ${now})`;
  return row;
}

/** Counts one completed registration, atomically; false when the token is used up or expired. */
export async function consumeRegistrationToken(db: Db, token: string, now: number): Promise<boolean> {
  const rows = await db`
    UPDATE registration_tokens SET completed = completed + 1
    WHERE token = ${token} AND (uses_allowed IS NULL OR completed < uses_allowed) AND (expiry_ts IS NULL OR expiry_ts > ${now})
    RETURNING 1`;
  return rows.length === 1;
}

export async function deleteRegistrationToken(db: Db, token: string): Promise<boolean> {
  const rows = await db`DELETE FROM registration_tokens WHERE token = ${token} RETURNING 1`;
  return rows.length === 1;
}
