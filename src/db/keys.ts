/**
 * Public end-to-end keys: device keys, one-time keys (claimed oldest first, each exactly once), fallback keys,
 * cross-signing keys, and device-list change positions. Nothing here can decrypt anything.
 */
import type { Db, Tx } from './database.js';

export type KeyJson = Record<string, unknown>;

export async function selectDeviceKeys(db: Db, userId: string, deviceId: string): Promise<KeyJson | undefined> {
  const [row] = await db<{ keyJson: KeyJson }[]>`SELECT key_json FROM device_keys WHERE user_id = ${userId} AND device_id = ${deviceId}`;
  return row?.keyJson;
}

export async function selectDeviceKeysOfUsers(db: Db, userIds: string[]): Promise<{ userId: string; deviceId: string; keyJson: KeyJson; displayName: string | null }[]> {
  if (userIds.length === 0) return [];
  return db`
    SELECT k.user_id, k.device_id, k.key_json, d.display_name FROM device_keys k JOIN devices d USING (user_id, device_id)
    WHERE k.user_id = ANY(${userIds})` as never;
}

export async function upsertDeviceKeys(db: Db, userId: string, deviceId: string, keyJson: KeyJson): Promise<void> {
  await db`
    INSERT INTO device_keys (user_id, device_id, key_json) VALUES (${userId}, ${deviceId}, ${db.json(keyJson as never)})
    ON CONFLICT (user_id, device_id) DO UPDATE SET key_json = EXCLUDED.key_json`;
}

export async function selectOneTimeKeysByIds(db: Db, userId: string, deviceId: string, keyIds: string[]): Promise<Map<string, KeyJson>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db<{ keyId: string; keyJson: KeyJson }[]>`
    SELECT key_id, key_json FROM one_time_keys WHERE user_id = ${userId} AND device_id = ${deviceId} AND key_id = ANY(${keyIds})`;
  return new Map(rows.map((r) => [r.keyId, r.keyJson]));
}

/** Inserts keys in the given order (their upload order); existing ids are left as they are. */
export async function insertOneTimeKeys(db: Db, userId: string, deviceId: string, keys: { keyId: string; algorithm: string; keyJson: KeyJson }[]): Promise<void> {
  for (const k of keys) {
    await db`
      INSERT INTO one_time_keys (user_id, device_id, key_id, algorithm, key_json)
      VALUES (${userId}, ${deviceId}, ${k.keyId}, ${k.algorithm}, ${db.json(k.keyJson as never)}) ON CONFLICT DO NOTHING`;
  }
}

export async function selectOneTimeKeyCounts(db: Db, userId: string, deviceId: string): Promise<Record<string, number>> {
  const rows = await db<{ algorithm: string; n: number }[]>`
    SELECT algorithm, count(*)::int AS n FROM one_time_keys WHERE user_id = ${userId} AND device_id = ${deviceId} GROUP BY algorithm`;
  return Object.fromEntries(rows.map((r) => [r.algorithm, r.n]));
}

/**
 * Claims the oldest one-time key of an algorithm for a device, exactly once: SKIP LOCKED lets concurrent claims
 * take different keys, and the row is deleted in the same statement.
 */
export async function claimOneTimeKey(tx: Tx, userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; keyJson: KeyJson } | undefined> {
  const [row] = await tx<{ keyId: string; keyJson: KeyJson }[]>`
    DELETE FROM one_time_keys WHERE (user_id, device_id, key_id) IN (
      SELECT user_id, device_id, key_id FROM one_time_keys
      WHERE user_id = ${userId} AND device_id = ${deviceId} AND algorithm = ${algorithm}
      ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING key_id, key_json`;
  return row;
}

export async function upsertFallbackKey(db: Db, userId: string, deviceId: string, algorithm: string, keyId: string, keyJson: KeyJson): Promise<void> {
  await db`
    INSERT INTO fallback_keys (user_id, device_id, algorithm, key_id, key_json, used)
    VALUES (${userId}, ${deviceId}, ${algorithm}, ${keyId}, ${db.json(keyJson as never)}, false)
    ON CONFLICT (user_id, device_id, algorithm) DO UPDATE
      SET key_id = EXCLUDED.key_id, key_json = EXCLUDED.key_json,
          used = CASE WHEN fallback_keys.key_id = EXCLUDED.key_id AND fallback_keys.key_json = EXCLUDED.key_json THEN fallback_keys.used ELSE false END`;
}

/** Hands out the fallback key (it stays, marked used, until the device replaces it). */
export async function claimFallbackKey(tx: Tx, userId: string, deviceId: string, algorithm: string): Promise<{ keyId: string; keyJson: KeyJson } | undefined> {
  const [row] = await tx<{ keyId: string; keyJson: KeyJson }[]>`
    UPDATE fallback_keys SET used = true WHERE user_id = ${userId} AND device_id = ${deviceId} AND algorithm = ${algorithm}
    RETURNING key_id, key_json`;
  return row;
}

export async function selectCrossSigningKeys(db: Db, userIds: string[]): Promise<{ userId: string; keyType: string; keyJson: KeyJson }[]> {
  if (userIds.length === 0) return [];
  return db`SELECT user_id, key_type, key_json FROM cross_signing_keys WHERE user_id = ANY(${userIds})` as never;
}

export async function upsertCrossSigningKey(db: Db, userId: string, keyType: string, keyJson: KeyJson): Promise<void> {
  await db`
    INSERT INTO cross_signing_keys (user_id, key_type, key_json) VALUES (${userId}, ${keyType}, ${db.json(keyJson as never)})
    ON CONFLICT (user_id, key_type) DO UPDATE SET key_json = EXCLUDED.key_json`;
}

/** `onlyFor`: the change is seen by that user alone (see migration 0012). */
export async function insertDeviceListChange(tx: Tx, userId: string, streamPos: number, onlyFor?: string): Promise<void> {
  await tx`INSERT INTO device_list_changes (user_id, stream_pos, only_for) VALUES (${userId}, ${streamPos}, ${onlyFor ?? null}) ON CONFLICT DO NOTHING`;
}

/** Users whose devices changed in (from, to] as `viewer` sees it: public changes of `userIds`, and changes only for the viewer. */
export async function selectDeviceListChanges(db: Db, viewer: string, userIds: string[], from: number, to: number): Promise<string[]> {
  const rows = await db<{ userId: string }[]>`
    SELECT DISTINCT user_id FROM device_list_changes
    WHERE stream_pos > ${from} AND stream_pos <= ${to} AND ((only_for IS NULL AND user_id = ANY(${userIds})) OR only_for = ${viewer})`;
  return rows.map((r) => r.userId);
}

/**
 * Whether anything that can change device lists (a device change or a membership event) happened in (from, to], as a
 * boolean expression over SQL expressions (shared by /sync's snapshot and the sliding-sync extensions' statement).
 */
export function deviceListActivitySql(from: string, to: string): string {
  return `(EXISTS (SELECT 1 FROM device_list_changes WHERE stream_pos > ${from} AND stream_pos <= ${to})
        OR EXISTS (SELECT 1 FROM events WHERE stream_pos > ${from} AND stream_pos <= ${to} AND type = 'm.room.member'))`;
}

/** Whether anything that can change device lists happened in (from, to]. */
export async function selectDeviceListActivity(db: Db, from: number, to: number): Promise<boolean> {
  const [row] = (await db.unsafe(`SELECT ${deviceListActivitySql('$1::bigint', '$2::bigint')} AS any`, [from, to], { prepare: true })) as unknown as { any: boolean }[];
  return row.any;
}


/**
 * A device's one-time key counts per algorithm and its unused fallback key types, as one JSON column (written once,
 * for /sync's snapshot and the sliding-sync e2ee extension; `user`/`device` are SQL expressions).
 */
export function keyCountsSql(user: string, device: string): string {
  return `(SELECT coalesce(json_agg(k), '[]') FROM (
        SELECT 'otk' AS kind, algorithm, count(*)::int AS n FROM one_time_keys WHERE user_id = ${user} AND device_id = ${device} GROUP BY algorithm
        UNION ALL
        SELECT 'fallback', algorithm, 0 FROM fallback_keys WHERE user_id = ${user} AND device_id = ${device} AND NOT used) k)`;
}

export interface KeyCounts {
  oneTimeKeyCounts: Record<string, number>;
  unusedFallbackKeyTypes: string[];
}

/** The key counts column's value. */
export function readKeyCounts(json: unknown): KeyCounts {
  const keyCounts = json as { kind: 'otk' | 'fallback'; algorithm: string; n: number }[];
  return {
    oneTimeKeyCounts: Object.fromEntries(keyCounts.filter((k) => k.kind === 'otk').map((k) => [k.algorithm, k.n])),
    unusedFallbackKeyTypes: keyCounts.filter((k) => k.kind === 'fallback').map((k) => k.algorithm).sort(),
  };
}
