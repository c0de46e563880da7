/** Accounts: one row per user id, with the argon2id password hash and the profile. */
import type { Db } from './database.js';

export interface UserRow {
  userId: string;
  passwordHash: string | null;
  isAdmin: boolean;
  isGuest: boolean;
  deactivated: boolean;
  profile: Record<string, unknown>;
  createdTs: number;
}

/** Which of `userIds` are guest accounts. */
export async function selectGuests(db: Db, userIds: string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await db<{ userId: string }[]>`SELECT user_id FROM users WHERE is_guest AND user_id = ANY(${userIds})`;
  return rows.map((r) => r.userId);
}

export async function selectUser(db: Db, userId: string): Promise<UserRow | undefined> {
  const [row] = await db<UserRow[]>`SELECT * FROM users WHERE user_id = ${userId}`;
  return row;
}

/**
 * The user's row, share-locked until the transaction ends: a profile change (an UPDATE of the row) waits until a
 * member event built from it has committed, and a member event waits for a profile change in flight.
 */
export async function selectUserForShare(db: Db, userId: string): Promise<UserRow | undefined> {
  const [row] = await db<UserRow[]>`SELECT * FROM users WHERE user_id = ${userId} FOR SHARE`;
  return row;
}

/** Inserts a user; false when the id is taken. */
export async function insertUser(
  db: Db,
  u: { userId: string; passwordHash: string | null; isAdmin: boolean; isGuest: boolean; profile: Record<string, unknown> },
): Promise<boolean> {
  const rows = await db`
    INSERT INTO users (user_id, password_hash, is_admin, is_guest, profile, created_ts)
    VALUES (${u.userId}, ${u.passwordHash}, ${u.isAdmin}, ${u.isGuest}, ${db.json(u.profile as never)}, ${Date.now()})
    ON CONFLICT (user_id) DO NOTHING RETURNING user_id`;
  return rows.length === 1;
}

export async function updatePasswordHash(db: Db, userId: string, passwordHash: string | null): Promise<void> {
  await db`UPDATE users SET password_hash = ${passwordHash} WHERE user_id = ${userId}`;
}

export async function updateUpgradedGuest(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db`UPDATE users SET password_hash = ${passwordHash}, is_guest = false WHERE user_id = ${userId}`;
}

/**
 * Whether the user is still active, holding the row (FOR SHARE) until the transaction ends: a deactivation that
 * started first is waited for and then seen, one that comes later waits for this transaction. Writes that must not
 * outlive an erasure (media) check it in their own transaction.
 */
export async function lockActiveUser(tx: Db, userId: string): Promise<boolean> {
  const [row] = await tx<{ deactivated: boolean }[]>`SELECT deactivated FROM users WHERE user_id = ${userId} FOR SHARE`;
  return row !== undefined && !row.deactivated;
}

export async function updateDeactivated(db: Db, userId: string): Promise<void> {
  await db`UPDATE users SET deactivated = true, password_hash = NULL WHERE user_id = ${userId}`;
}

/**
 * Sets one profile field; false when the whole profile would pass maxBytes (measured on PostgreSQL's jsonb text,
 * a little larger than compact JSON). The value goes as JSON text: db.json(null) would be SQL NULL.
 */
export async function updateProfileField(db: Db, userId: string, key: string, value: unknown, maxBytes: number): Promise<boolean> {
  const json = JSON.stringify(value);
  const rows = await db`
    UPDATE users SET profile = jsonb_set(profile, ${[key]}::text[], ${json}::text::jsonb)
    WHERE user_id = ${userId} AND octet_length(jsonb_set(profile, ${[key]}::text[], ${json}::text::jsonb)::text) <= ${maxBytes}
    RETURNING 1`;
  return rows.length === 1;
}

export async function deleteProfileField(db: Db, userId: string, key: string): Promise<void> {
  await db`UPDATE users SET profile = profile - ${key}::text WHERE user_id = ${userId}`;
}

export async function clearProfile(db: Db, userId: string): Promise<void> {
  await db`UPDATE users SET profile = '{}'::jsonb WHERE user_id = ${userId}`;
}

export async function updateAdmin(db: Db, userId: string, isAdmin: boolean): Promise<void> {
  await db`UPDATE users SET is_admin = ${isAdmin} WHERE user_id = ${userId}`;
}
