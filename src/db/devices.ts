/** Devices of a user: id, display name, creation and last-seen times (no client addresses are kept). */
import type { Db } from './database.js';

export interface DeviceRow {
  userId: string;
  deviceId: string;
  displayName: string | null;
  createdTs: number;
  lastSeenTs: number | null;
}

export async function selectDevices(db: Db, userId: string): Promise<DeviceRow[]> {
  return db<DeviceRow[]>`SELECT * FROM devices WHERE user_id = ${userId} ORDER BY created_ts, device_id`;
}

/** The device ids of these users, by user (users without devices are absent). */
export async function selectDeviceIdsOfUsers(db: Db, userIds: string[]): Promise<Map<string, string[]>> {
  const rows = await db<{ userId: string; deviceId: string }[]>`
    SELECT user_id, device_id FROM devices WHERE user_id = ANY(${userIds}::text[]) ORDER BY user_id, created_ts, device_id`;
  const out = new Map<string, string[]>();
  for (const r of rows) {
    let list = out.get(r.userId);
    if (!list) out.set(r.userId, (list = []));
    list.push(r.deviceId);
  }
  return out;
}

export async function selectDevice(db: Db, userId: string, deviceId: string): Promise<DeviceRow | undefined> {
  const [row] = await db<DeviceRow[]>`SELECT * FROM devices WHERE user_id = ${userId} AND device_id = ${deviceId}`;
  return row;
}

/**
 * Creates the device, or keeps an existing one (a login may reuse its device id) with its display name: the
 * spec ignores initial_device_display_name for a known device. True when it is new.
 */
export async function upsertDevice(db: Db, userId: string, deviceId: string, displayName: string | null): Promise<boolean> {
  const now = Date.now();
  const rows = await db<{ inserted: boolean }[]>`
    INSERT INTO devices (user_id, device_id, display_name, created_ts, last_seen_ts)
    VALUES (${userId}, ${deviceId}, ${displayName}, ${now}, ${now})
    ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_ts = EXCLUDED.last_seen_ts
    RETURNING (xmax = 0) AS inserted`;
  return rows[0].inserted;
}

export async function updateDeviceDisplayName(db: Db, userId: string, deviceId: string, displayName: string | null): Promise<boolean> {
  const rows = await db`UPDATE devices SET display_name = ${displayName} WHERE user_id = ${userId} AND device_id = ${deviceId} RETURNING 1`;
  return rows.length === 1;
}

export async function updateDeviceLastSeen(db: Db, userId: string, deviceId: string, ts: number): Promise<void> {
  await db`UPDATE devices SET last_seen_ts = ${ts} WHERE user_id = ${userId} AND device_id = ${deviceId}`;
}

/** Deletes devices (their tokens go with them by cascade); returns the ids that existed. */
export async function deleteDeviceRows(db: Db, userId: string, deviceIds: string[]): Promise<string[]> {
  const rows = await db<{ deviceId: string }[]>`
    DELETE FROM devices WHERE user_id = ${userId} AND device_id = ANY(${deviceIds}) RETURNING device_id`;
  return rows.map((r) => r.deviceId);
}
