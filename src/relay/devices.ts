/**
 * Devices: creation at login/registration, listing and renaming, and deletion. deleteDevices is the one place a device ends; later
 * parts (keys, to-device inbox, device-list changes) hook into it so that nothing of a deleted device lingers.
 */
import { transaction, type Tx } from '../db/database.js';
import type { Hs } from '../hs.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './keys/device-lists.js';
import { deleteDeviceRows, selectDevice, selectDevices, updateDeviceDisplayName, upsertDevice, type DeviceRow } from '../db/devices.js';
import { selectCrossSigningKeys } from '../db/keys.js';
import { crossSigningPublicKey } from './keys/cross-signing.js';
import { deleteDeviceTokens } from '../db/tokens.js';
import { invalidParam, notFound } from '../errors.js';
import { MAX_ID_BYTES, isDeviceId } from '../lib/identifiers.js';
import { randomId } from '../lib/tokens.js';

function newDeviceId(): string {
  return randomId(10);
}

/**
 * The device for a new session: the client's id when it sent one, else a new one. A device that exists is reused,
 * and its earlier access and refresh tokens end (spec: "Relationship between access tokens and devices").
 * `created`: the device is new, which the caller records as a device-list change (last in its transaction, then
 * wakes the watchers after commit): the user's other devices learn of the new login (Element verifies it).
 */
export async function openDevice(db: Tx, userId: string, deviceId: string | undefined, displayName: string | undefined): Promise<{ deviceId: string; created: boolean }> {
  if (deviceId !== undefined && !isDeviceId(deviceId)) throw invalidParam(`device_id must be 1 to ${MAX_ID_BYTES} bytes, without spaces.`);
  // Device ids and cross-signing public keys share one key-id namespace (ed25519:<id>): the spec has servers keep them apart.
  if (deviceId !== undefined && (await selectCrossSigningKeys(db, [userId])).some((k) => crossSigningPublicKey(k.keyJson)?.publicKey === deviceId)) {
    throw invalidParam('device_id must not be one of your cross-signing public keys.');
  }
  const id = deviceId ?? newDeviceId();
  const created = await upsertDevice(db, userId, id, displayName ?? null);
  if (!created) await deleteDeviceTokens(db, userId, id);
  return { deviceId: id, created };
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

/** A device as clients see it (spec: "Device"). */
export interface DeviceJson {
  device_id: string;
  display_name?: string;
  last_seen_ts?: number;
}

function deviceJson(d: DeviceRow): DeviceJson {
  return {
    device_id: d.deviceId,
    ...(d.displayName !== null ? { display_name: d.displayName } : {}),
    ...(d.lastSeenTs !== null ? { last_seen_ts: d.lastSeenTs } : {}),
  };
}

export async function listDevices(hs: Hs, userId: string): Promise<DeviceJson[]> {
  return (await selectDevices(hs.sql, userId)).map(deviceJson);
}

/** One of the user's devices; 404 M_NOT_FOUND when they have no such device. */
export async function getDevice(hs: Hs, userId: string, deviceId: string): Promise<DeviceJson> {
  const device = await selectDevice(hs.sql, userId, deviceId);
  if (!device) throw notFound('No such device.');
  return deviceJson(device);
}

/**
 * Renames one of the user's devices (no name: nothing changes); 404 M_NOT_FOUND when they have no such device. A new
 * name is a device-list change: the name is part of what /keys/query tells about the device.
 */
export async function renameDevice(hs: Hs, userId: string, deviceId: string, displayName: string | undefined): Promise<void> {
  if (displayName === undefined) {
    await getDevice(hs, userId, deviceId);
    return;
  }
  const renamed = await transaction(hs.sql, async (tx) => {
    const before = await selectDevice(tx, userId, deviceId);
    if (!before) throw notFound('No such device.');
    if (before.displayName === displayName) return false;
    await updateDeviceDisplayName(tx, userId, deviceId, displayName);
    await recordDeviceListChange(tx, userId);
    return true;
  });
  if (renamed) await wakeDeviceListWatchers(hs, userId);
}
