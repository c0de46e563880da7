/**
 * Key backup (spec: "Server-side key backups"): versions with their public auth_data, and encrypted session
 * keys that the server stores but cannot read. Writes go to the current version only; a session's backup is
 * replaced only by a better one (verified, then lower first_message_index, then lower forwarded_count).
 */
import type { Hs } from '../../hs.js';
import { invalidParam, notFound, wrongRoomKeysVersion } from '../../errors.js';
import * as backupDb from '../../db/key-backup.js';
import type { BackupSessionRow } from '../../db/key-backup.js';
import { transaction } from '../../db/database.js';
import { checkBackupSessions, checkBackupVersion } from '../policy.js';

export interface KeyBackupData {
  first_message_index: number;
  forwarded_count: number;
  is_verified: boolean;
  /** Checked by the policy (checkBackupSessions) before anything is stored. */
  session_data: unknown;
}

function parseVersion(v: string): number {
  if (!/^[1-9][0-9]{0,14}$/.test(v)) throw notFound('Unknown backup version.');
  return Number(v);
}

function versionJson(row: backupDb.BackupVersionRow) {
  return { algorithm: row.algorithm, auth_data: row.authData, count: row.count, etag: String(row.etag), version: String(row.version) };
}

export async function createVersion(hs: Hs, userId: string, algorithm: string, authData: unknown): Promise<{ version: string }> {
  checkBackupVersion(algorithm, authData);
  return { version: String(await backupDb.insertBackupVersion(hs.sql, userId, algorithm, authData as Record<string, unknown>)) };
}

export async function getVersion(hs: Hs, userId: string, version?: string) {
  const row = await backupDb.selectBackupVersion(hs.sql, userId, version !== undefined ? parseVersion(version) : undefined);
  if (!row) throw notFound(version !== undefined ? 'Unknown backup version.' : 'No current backup version.');
  return versionJson(row);
}

export async function updateVersion(hs: Hs, userId: string, version: string, body: { algorithm: string; auth_data: unknown; version?: string }) {
  const v = parseVersion(version);
  checkBackupVersion(body.algorithm, body.auth_data);
  if (body.version !== undefined && body.version !== version) throw invalidParam('The version in the body does not match the one in the path.');
  const row = await backupDb.selectBackupVersion(hs.sql, userId, v);
  if (!row) throw notFound('Unknown backup version.');
  if (row.algorithm !== body.algorithm) throw invalidParam('The algorithm of a backup version cannot change.');
  await backupDb.updateBackupAuthData(hs.sql, userId, v, body.auth_data as Record<string, unknown>);
}

export async function deleteVersion(hs: Hs, userId: string, version: string): Promise<void> {
  if (!(await backupDb.markBackupVersionDeleted(hs.sql, userId, parseVersion(version)))) throw notFound('Unknown backup version.');
}

/** The spec's rule: is `candidate` a better backup of a session than `existing`? */
function isBetterBackup(candidate: KeyBackupData, existing: BackupSessionRow): boolean {
  if (candidate.is_verified !== existing.isVerified) return candidate.is_verified;
  if (candidate.first_message_index !== existing.firstMessageIndex) return candidate.first_message_index < existing.firstMessageIndex;
  return candidate.forwarded_count < existing.forwardedCount;
}

/** Stores sessions in the current version; returns the new etag and count. */
export async function putKeys(hs: Hs, userId: string, version: string, rooms: Record<string, Record<string, KeyBackupData>>) {
  const v = parseVersion(version);
  checkBackupSessions(rooms);
  return transaction(hs.sql, async (tx) => {
    const current = await backupDb.selectBackupVersion(tx, userId);
    if (!current) throw notFound('No backup version exists.');
    if (current.version !== v) throw wrongRoomKeysVersion(current.version);
    // The version row is the lock: concurrent uploads apply the replacement rule one after another.
    await tx`SELECT 1 FROM key_backup_versions WHERE user_id = ${userId} AND version = ${v} FOR UPDATE`;
    let changed = false;
    for (const [roomId, sessions] of Object.entries(rooms)) {
      const existing = new Map((await backupDb.selectBackupSessions(tx, userId, v, roomId)).map((s) => [s.sessionId, s]));
      for (const [sessionId, data] of Object.entries(sessions)) {
        const old = existing.get(sessionId);
        if (old && !isBetterBackup(data, old)) continue;
        await backupDb.upsertBackupSession(tx, userId, v, {
          roomId, sessionId, firstMessageIndex: data.first_message_index, forwardedCount: data.forwarded_count, isVerified: data.is_verified, sessionData: data.session_data as Record<string, unknown>,
        });
        changed = true;
      }
    }
    if (changed) await backupDb.bumpBackupEtag(tx, userId, v);
    const after = (await backupDb.selectBackupVersion(tx, userId, v))!;
    return { etag: String(after.etag), count: after.count };
  });
}

function dataJson(s: BackupSessionRow): KeyBackupData {
  return { first_message_index: s.firstMessageIndex, forwarded_count: s.forwardedCount, is_verified: s.isVerified, session_data: s.sessionData };
}

async function liveVersion(hs: Hs, userId: string, version: string): Promise<number> {
  const v = parseVersion(version);
  if (!(await backupDb.selectBackupVersion(hs.sql, userId, v))) throw notFound('Unknown backup version.');
  return v;
}

export async function getKeys(hs: Hs, userId: string, version: string, roomId?: string, sessionId?: string) {
  const v = await liveVersion(hs, userId, version);
  const rows = await backupDb.selectBackupSessions(hs.sql, userId, v, roomId, sessionId);
  if (sessionId !== undefined) {
    if (rows.length === 0) throw notFound('No backup of that session.');
    return dataJson(rows[0]);
  }
  const rooms: Record<string, { sessions: Record<string, KeyBackupData> }> = {};
  for (const r of rows) (rooms[r.roomId] ??= { sessions: {} }).sessions[r.sessionId] = dataJson(r);
  if (roomId !== undefined) return rooms[roomId] ?? { sessions: {} };
  return { rooms };
}

export async function deleteKeys(hs: Hs, userId: string, version: string, roomId?: string, sessionId?: string) {
  const v = await liveVersion(hs, userId, version);
  return transaction(hs.sql, async (tx) => {
    if ((await backupDb.deleteBackupSessions(tx, userId, v, roomId, sessionId)) > 0) await backupDb.bumpBackupEtag(tx, userId, v);
    const after = (await backupDb.selectBackupVersion(tx, userId, v))!;
    return { etag: String(after.etag), count: after.count };
  });
}
