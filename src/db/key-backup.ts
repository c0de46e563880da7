/** Key backup versions and their encrypted sessions, per user. */
import type { Db } from './database.js';

export interface BackupVersionRow {
  version: number;
  algorithm: string;
  authData: Record<string, unknown>;
  etag: number;
  count: number;
}

export async function insertBackupVersion(db: Db, userId: string, algorithm: string, authData: unknown): Promise<number> {
  const [row] = await db<{ version: number }[]>`
    INSERT INTO key_backup_versions (user_id, version, algorithm, auth_data)
    SELECT ${userId}, COALESCE(max(version), 0) + 1, ${algorithm}, ${db.json(authData as never)} FROM key_backup_versions WHERE user_id = ${userId}
    RETURNING version`;
  return row.version;
}

/** A live version, or the current (highest live) one when `version` is undefined. */
export async function selectBackupVersion(db: Db, userId: string, version?: number): Promise<BackupVersionRow | undefined> {
  const [row] = await db<BackupVersionRow[]>`
    SELECT v.version, v.algorithm, v.auth_data, v.etag,
      (SELECT count(*)::int FROM key_backup_sessions s WHERE s.user_id = v.user_id AND s.version = v.version) AS count
    FROM key_backup_versions v
    WHERE v.user_id = ${userId} AND NOT v.deleted ${version !== undefined ? db`AND v.version = ${version}` : db``}
    ORDER BY v.version DESC LIMIT 1`;
  return row;
}

export async function updateBackupAuthData(db: Db, userId: string, version: number, authData: unknown): Promise<void> {
  await db`UPDATE key_backup_versions SET auth_data = ${db.json(authData as never)} WHERE user_id = ${userId} AND version = ${version}`;
}

export async function markBackupVersionDeleted(db: Db, userId: string, version: number): Promise<boolean> {
  await db`DELETE FROM key_backup_sessions WHERE user_id = ${userId} AND version = ${version}`;
  const rows = await db`UPDATE key_backup_versions SET deleted = true WHERE user_id = ${userId} AND version = ${version} AND NOT deleted RETURNING 1`;
  return rows.length === 1;
}

export async function bumpBackupEtag(db: Db, userId: string, version: number): Promise<void> {
  await db`UPDATE key_backup_versions SET etag = etag + 1 WHERE user_id = ${userId} AND version = ${version}`;
}

export interface BackupSessionRow {
  roomId: string;
  sessionId: string;
  firstMessageIndex: number;
  forwardedCount: number;
  isVerified: boolean;
  sessionData: Record<string, unknown>;
}

export async function selectBackupSessions(db: Db, userId: string, version: number, roomId?: string, sessionId?: string): Promise<BackupSessionRow[]> {
  return db<BackupSessionRow[]>`
    SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data FROM key_backup_sessions
    WHERE user_id = ${userId} AND version = ${version}
      ${roomId !== undefined ? db`AND room_id = ${roomId}` : db``}
      ${sessionId !== undefined ? db`AND session_id = ${sessionId}` : db``}`;
}

export async function upsertBackupSession(db: Db, userId: string, version: number, s: BackupSessionRow): Promise<void> {
  await db`
    INSERT INTO key_backup_sessions (user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
    VALUES (${userId}, ${version}, ${s.roomId}, ${s.sessionId}, ${s.firstMessageIndex}, ${s.forwardedCount}, ${s.isVerified}, ${db.json(s.sessionData as never)})
    ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET
      first_message_index = EXCLUDED.first_message_index, forwarded_count = EXCLUDED.forwarded_count,
      is_verified = EXCLUDED.is_verified, session_data = EXCLUDED.session_data`;
}

export async function deleteBackupSessions(db: Db, userId: string, version: number, roomId?: string, sessionId?: string): Promise<number> {
  const rows = await db`
    DELETE FROM key_backup_sessions WHERE user_id = ${userId} AND version = ${version}
      ${roomId !== undefined ? db`AND room_id = ${roomId}` : db``}
      ${sessionId !== undefined ? db`AND session_id = ${sessionId}` : db``}
    RETURNING 1`;
  return rows.length;
}
