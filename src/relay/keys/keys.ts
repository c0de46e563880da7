/**
 * Device keys, one-time keys and fallback keys: upload (a device's identity keys are self-signed and can never
 * be replaced; a key id is never reused for another key), query, claim (oldest first, each key exactly once,
 * then the fallback key) and the per-device counts /sync reports.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Hs, Requester } from '../../hs.js';
import { invalidParam } from '../../errors.js';
import * as keysDb from '../../db/keys.js';
import type { KeyJson } from '../../db/keys.js';
import { hasValidSignature } from './signatures.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './device-lists.js';
import { transaction } from '../../db/database.js';

export interface DeviceKeysUpload {
  user_id: string;
  device_id: string;
  algorithms: string[];
  keys: Record<string, string>;
  signatures: Record<string, Record<string, string>>;
  [k: string]: unknown;
}

export interface KeysUpload {
  device_keys?: DeviceKeysUpload;
  one_time_keys?: Record<string, unknown>;
  fallback_keys?: Record<string, unknown>;
}

const keyIdError = (keyId: string) => invalidParam(`Key ids are <algorithm>:<id>; got ${JSON.stringify(keyId)}.`);

function splitKeyId(keyId: string): string {
  const colon = keyId.indexOf(':');
  if (colon <= 0 || colon === keyId.length - 1 || keyId.length > 255) throw keyIdError(keyId);
  return keyId.slice(0, colon);
}

function checkDeviceKeys(requester: Requester, dk: DeviceKeysUpload): void {
  if (dk.user_id !== requester.userId || dk.device_id !== requester.deviceId) {
    throw invalidParam(`device_keys must be for the requesting device (${requester.userId} ${requester.deviceId}).`);
  }
  const ed = dk.keys[`ed25519:${dk.device_id}`];
  if (typeof ed !== 'string' || typeof dk.keys[`curve25519:${dk.device_id}`] !== 'string') {
    throw invalidParam(`device_keys.keys must hold ed25519:${dk.device_id} and curve25519:${dk.device_id}.`);
  }
  const foreign = Object.keys(dk.signatures).find((u) => u !== dk.user_id);
  if (foreign) throw invalidParam(`device_keys carry a signature by ${foreign}: other users' signatures go through /keys/signatures/upload, by them.`);
  if (!hasValidSignature(dk as unknown as Record<string, unknown>, dk.user_id, `ed25519:${dk.device_id}`, ed)) {
    throw invalidParam('device_keys are not correctly self-signed by the device (ed25519 signature over canonical JSON).');
  }
}

/** The identity keys of a device are fixed: a different ed25519/curve25519 key is refused. */
function sameIdentity(a: KeyJson, b: DeviceKeysUpload): boolean {
  return isDeepStrictEqual(a.keys, b.keys);
}

export async function uploadKeys(hs: Hs, requester: Requester, body: KeysUpload): Promise<{ one_time_key_counts: Record<string, number> }> {
  const { userId, deviceId } = requester;
  const otks = Object.entries(body.one_time_keys ?? {}).map(([keyId, keyJson]) => ({ keyId, algorithm: splitKeyId(keyId), keyJson: keyJson as KeyJson }));
  const fallbacks = Object.entries(body.fallback_keys ?? {}).map(([keyId, keyJson]) => ({ keyId, algorithm: splitKeyId(keyId), keyJson: keyJson as KeyJson }));
  if (new Set(fallbacks.map((f) => f.algorithm)).size !== fallbacks.length) throw invalidParam('At most one fallback key per algorithm.');
  if (body.device_keys) checkDeviceKeys(requester, body.device_keys);

  let devicesChanged = false;
  await transaction(hs.sql, async (tx) => {
    const existingOtks = await keysDb.selectOneTimeKeysByIds(tx, userId, deviceId, otks.map((k) => k.keyId));
    for (const k of otks) {
      const existing = existingOtks.get(k.keyId);
      if (existing !== undefined && !isDeepStrictEqual(existing, k.keyJson)) {
        throw invalidParam(`One-time key ${k.keyId} already exists with different content; a key id cannot be reused.`);
      }
    }
    await keysDb.insertOneTimeKeys(tx, userId, deviceId, otks.filter((k) => !existingOtks.has(k.keyId)));
    for (const f of fallbacks) await keysDb.upsertFallbackKey(tx, userId, deviceId, f.algorithm, f.keyId, f.keyJson);
    if (body.device_keys) {
      const existing = await keysDb.selectDeviceKeys(tx, userId, deviceId);
      if (existing && !sameIdentity(existing, body.device_keys)) {
        throw invalidParam("This device's identity keys are already set and cannot be replaced; log in as a new device.");
      }
      if (!existing || !isDeepStrictEqual(existing, body.device_keys)) {
        await keysDb.upsertDeviceKeys(tx, userId, deviceId, body.device_keys);
        await recordDeviceListChange(tx, userId);
        devicesChanged = true;
      }
    }
  });
  if (devicesChanged) await wakeDeviceListWatchers(hs, userId);
  return { one_time_key_counts: await keysDb.selectOneTimeKeyCounts(hs.sql, userId, deviceId) };
}

export interface KeysQueryResult {
  device_keys: Record<string, Record<string, KeyJson>>;
  master_keys: Record<string, KeyJson>;
  self_signing_keys: Record<string, KeyJson>;
  user_signing_keys: Record<string, KeyJson>;
  failures: Record<string, unknown>;
}

/**
 * What a key's signatures show to `viewer`: the owner's own (devices, master, self-signing key) and the viewer's.
 * Other users' user-signing signatures stay hidden: who verified whom is private (spec: cross-signing).
 */
function visibleTo(viewer: string, owner: string, key: KeyJson): KeyJson {
  const signatures = key.signatures as Record<string, unknown> | undefined;
  if (!signatures || Object.keys(signatures).every((u) => u === owner || u === viewer)) return key;
  const shown = Object.fromEntries(Object.entries(signatures).filter(([u]) => u === owner || u === viewer));
  return { ...key, signatures: shown };
}

/** Public keys of the requested users (all devices, or the listed ones); user-signing keys only for oneself. */
export async function queryKeys(hs: Hs, requester: Requester, request: Record<string, string[]>): Promise<KeysQueryResult> {
  const userIds = Object.keys(request);
  const result: KeysQueryResult = { device_keys: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {}, failures: {} };
  for (const u of userIds) result.device_keys[u] = {};
  for (const row of await keysDb.selectDeviceKeysOfUsers(hs.sql, userIds)) {
    const wanted = request[row.userId];
    if (wanted.length > 0 && !wanted.includes(row.deviceId)) continue;
    const unsigned = row.displayName !== null ? { device_display_name: row.displayName } : {};
    result.device_keys[row.userId][row.deviceId] = { ...visibleTo(requester.userId, row.userId, row.keyJson), unsigned };
  }
  for (const row of await keysDb.selectCrossSigningKeys(hs.sql, userIds)) {
    const key = visibleTo(requester.userId, row.userId, row.keyJson);
    if (row.keyType === 'master') result.master_keys[row.userId] = key;
    else if (row.keyType === 'self_signing') result.self_signing_keys[row.userId] = key;
    else if (row.keyType === 'user_signing' && row.userId === requester.userId) result.user_signing_keys[row.userId] = row.keyJson;
  }
  return result;
}

/**
 * Whether `claimer` may take a one-time key of the device now: one user takes only a few from one device per hour,
 * and all users together a bounded number, so that no one drains a device's one-time keys. Beyond that the device's
 * fallback key is handed out, which is what it is for: sessions still start, and the one-time keys stay for others.
 */
async function mayTakeOneTimeKey(hs: Hs, claimer: string, userId: string, deviceId: string): Promise<boolean> {
  const device = JSON.stringify([userId, deviceId]);
  return (await hs.limits.allows('one_time_key_per_claimer', JSON.stringify([claimer, userId, deviceId]))) && (await hs.limits.allows('one_time_key_per_device', device));
}

/** One key per requested device: its oldest one-time key (within the limits above), else its fallback key. Unknown devices get nothing. */
export async function claimKeys(hs: Hs, requester: Requester, request: Record<string, Record<string, string>>) {
  const claims: { userId: string; deviceId: string; algorithm: string; oneTimeKey: boolean }[] = [];
  for (const [userId, devices] of Object.entries(request)) {
    for (const [deviceId, algorithm] of Object.entries(devices)) {
      claims.push({ userId, deviceId, algorithm, oneTimeKey: await mayTakeOneTimeKey(hs, requester.userId, userId, deviceId) });
    }
  }
  const one_time_keys: Record<string, Record<string, Record<string, KeyJson>>> = {};
  await transaction(hs.sql, async (tx) => {
    for (const { userId, deviceId, algorithm, oneTimeKey } of claims) {
      const key = (oneTimeKey ? await keysDb.claimOneTimeKey(tx, userId, deviceId, algorithm) : undefined) ?? (await keysDb.claimFallbackKey(tx, userId, deviceId, algorithm));
      if (!key) continue;
      ((one_time_keys[userId] ??= {})[deviceId] ??= {})[key.keyId] = key.keyJson;
    }
  });
  return { one_time_keys, failures: {} };
}
