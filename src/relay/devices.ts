/**
 * Devices: creation at login/registration and deletion. deleteDevices is the one place a device ends; later
 * parts (keys, to-device inbox, device-list changes) hook into it so that nothing of a deleted device lingers.
 */
import { transaction, type Db, type Tx } from '../db/database.js';
import type { Hs } from '../hs.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './keys/device-lists.js';
import { deleteDeviceRows, upsertDevice } from '../db/devices.js';
import { deleteDeviceTokens } from '../db/tokens.js';
import { invalidParam } from '../errors.js';
import { randomId } from './tokens.js';

const DEVICE_ID_MAX = 255;

function newDeviceId(): string {
  return randomId(10);
}

/**
 * The device for a new session: the client's id when it sent one, else a new one. A device that exists is reused,
 * and its earlier access and refresh tokens end (spec: "Relationship between access tokens and devices").
 */
export async function openDevice(db: Db, userId: string, deviceId: string | undefined, displayName: string | undefined): Promise<string> {
  if (deviceId !== undefined && (deviceId.length === 0 || deviceId.length > DEVICE_ID_MAX)) {
    throw invalidParam(`device_id must be 1 to ${DEVICE_ID_MAX} characters.`);
  }
  const id = deviceId ?? newDeviceId();
  if (!(await upsertDevice(db, userId, id, displayName ?? null))) await deleteDeviceTokens(db, userId, id);
  return id;
}

/**
 * Deletes devices with everything tied to them (tokens, keys, one-time keys, to-device inbox, by cascade) and
 * records the device-list change, inside the caller's transaction. After commit, call wakeDeviceListWatchers.
 */
export async function deleteDevices(tx: Tx, userId: string, deviceIds: string[]): Promise<string[]> {
  if (deviceIds.length === 0) return [];
  const gone = await deleteDeviceRows(tx, userId, deviceIds);
  if (gone.length > 0) await recordDeviceListChange(tx, userId);
  return gone;
}

/** deleteDevices in a transaction of its own, then the wake of everyone tracking the user's devices. */
export async function removeDevices(hs: Hs, userId: string, deviceIds: string[]): Promise<void> {
  const gone = await transaction(hs.sql, (tx) => deleteDevices(tx, userId, deviceIds));
  if (gone.length > 0) await wakeDeviceListWatchers(hs, userId);
}
