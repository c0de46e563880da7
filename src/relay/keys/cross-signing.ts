/**
 * Cross-signing keys: a user's master, self-signing and user-signing public keys (sub-keys must be signed by the
 * master key). Every accepted change is a device-list change, written in the same transaction, answered only
 * after commit. Signatures uploaded later: signature-upload.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Hs } from '../../hs.js';
import { invalidParam } from '../../errors.js';
import * as keysDb from '../../db/keys.js';
import type { KeyJson } from '../../db/keys.js';
import { hasValidSignature } from './signatures.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './device-lists.js';
import { transaction } from '../../db/database.js';
import { selectDevice } from '../../db/devices.js';

export type CrossSigningType = 'master' | 'self_signing' | 'user_signing';

export interface CrossSigningKey {
  user_id: string;
  usage: string[];
  keys: Record<string, string>;
  signatures?: Record<string, Record<string, string>>;
  [k: string]: unknown;
}

/** The single ed25519 public key of a cross-signing key, and its key id. */
export function crossSigningPublicKey(key: { keys?: unknown }): { keyId: string; publicKey: string } | undefined {
  const entries = Object.entries((key.keys ?? {}) as Record<string, unknown>);
  if (entries.length !== 1) return undefined;
  const [keyId, publicKey] = entries[0];
  if (!keyId.startsWith('ed25519:') || typeof publicKey !== 'string' || keyId !== `ed25519:${publicKey}`) return undefined;
  return { keyId, publicKey };
}

function checkShape(userId: string, type: CrossSigningType, key: CrossSigningKey): void {
  if (key.user_id !== userId) throw invalidParam(`The ${type} key must belong to ${userId}.`);
  if (!key.usage.includes(type)) throw invalidParam(`The ${type} key must list "${type}" in usage.`);
  if (!crossSigningPublicKey(key)) throw invalidParam(`The ${type} key must hold exactly one ed25519 key, with id ed25519:<public key>.`);
  const foreign = Object.keys(key.signatures ?? {}).find((u) => u !== userId);
  if (foreign) throw invalidParam(`The ${type} key carries a signature by ${foreign}: other users' signatures go through /keys/signatures/upload, by them.`);
}

/** Whether an upload changes nothing (clients re-upload the same keys; that needs no authentication). */
export async function isSameCrossSigning(hs: Hs, userId: string, upload: Partial<Record<CrossSigningType, CrossSigningKey>>): Promise<boolean> {
  const existing = new Map((await keysDb.selectCrossSigningKeys(hs.sql, [userId])).map((r) => [r.keyType, r.keyJson]));
  const entries = Object.entries(upload).filter(([, v]) => v !== undefined);
  return entries.length > 0 && entries.every(([type, key]) => existing.has(type) && isDeepStrictEqual(existing.get(type), key));
}

export async function hasMasterKey(hs: Hs, userId: string): Promise<boolean> {
  return (await keysDb.selectCrossSigningKeys(hs.sql, [userId])).some((r) => r.keyType === 'master');
}

export async function uploadCrossSigningKeys(hs: Hs, userId: string, upload: Partial<Record<CrossSigningType, CrossSigningKey>>): Promise<void> {
  for (const type of ['master', 'self_signing', 'user_signing'] as const) if (upload[type]) checkShape(userId, type, upload[type]);
  await transaction(hs.sql, async (tx) => {
    const existing = new Map((await keysDb.selectCrossSigningKeys(tx, [userId])).map((r) => [r.keyType, r.keyJson]));
    const master = upload.master ?? (existing.get('master') as CrossSigningKey | undefined);
    if (!master && (upload.self_signing || upload.user_signing)) throw invalidParam('Upload a master key before (or with) the other cross-signing keys.');
    const masterKey = master ? crossSigningPublicKey(master)! : undefined;
    for (const type of ['master', 'self_signing', 'user_signing'] as const) {
      const key = upload[type];
      // Device ids and cross-signing public keys share one key-id namespace (ed25519:<id>): the spec has servers keep them apart.
      if (key && (await selectDevice(tx, userId, crossSigningPublicKey(key)!.publicKey))) throw invalidParam(`The ${type} public key is the id of one of your devices.`);
    }
    for (const type of ['self_signing', 'user_signing'] as const) {
      const key = upload[type];
      if (key && !hasValidSignature(key, userId, masterKey!.keyId, masterKey!.publicKey)) {
        throw invalidParam(`The ${type} key is not signed by the master key.`);
      }
    }
    for (const type of ['master', 'self_signing', 'user_signing'] as const) {
      if (upload[type]) await keysDb.upsertCrossSigningKey(tx, userId, type, upload[type] as KeyJson);
    }
    await recordDeviceListChange(tx, userId);
  });
  await wakeDeviceListWatchers(hs, userId);
}
