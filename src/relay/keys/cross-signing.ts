/**
 * Cross-signing: a user's master, self-signing and user-signing public keys (sub-keys must be signed by the
 * master key), and signatures uploaded for devices and keys. Every accepted change is a device-list change,
 * written in the same transaction, answered only after commit.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Hs, Requester } from '../../hs.js';
import { invalidParam, Codes, type Errcode } from '../../errors.js';
import * as keysDb from '../../db/keys.js';
import type { KeyJson } from '../../db/keys.js';
import { hasValidSignature } from './signatures.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './device-lists.js';
import { transaction } from '../../db/database.js';

export type CrossSigningType = 'master' | 'self_signing' | 'user_signing';

export interface CrossSigningKey {
  user_id: string;
  usage: string[];
  keys: Record<string, string>;
  signatures?: Record<string, Record<string, string>>;
  [k: string]: unknown;
}

/** The single ed25519 public key of a cross-signing key, and its key id. */
function crossSigningPublicKey(key: { keys?: unknown }): { keyId: string; publicKey: string } | undefined {
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

type Failure = { errcode: Errcode; error: string };

/** The public ed25519 key behind a signing key id of the uploader: one of their devices or cross-signing keys. */
async function signerKey(hs: Hs, signer: string, keyId: string): Promise<string | undefined> {
  const id = keyId.slice('ed25519:'.length);
  const device = await keysDb.selectDeviceKeys(hs.sql, signer, id);
  const deviceKey = (device?.keys as Record<string, string> | undefined)?.[keyId];
  if (deviceKey) return deviceKey;
  for (const row of await keysDb.selectCrossSigningKeys(hs.sql, [signer])) {
    if (crossSigningPublicKey(row.keyJson)?.keyId === keyId) return crossSigningPublicKey(row.keyJson)!.publicKey;
  }
  return undefined;
}

const strip = (o: KeyJson) => {
  const { signatures: _s, unsigned: _u, ...rest } = o;
  return rest;
};

/**
 * POST /keys/signatures/upload: each object is a device's keys or a cross-signing key, with the uploader's new
 * signatures. A signature is kept only when the object matches what is stored and the signature verifies.
 */
export async function uploadSignatures(hs: Hs, requester: Requester, body: Record<string, Record<string, KeyJson>>) {
  const failures: Record<string, Record<string, Failure>> = {};
  const fail = (u: string, k: string, f: Failure) => ((failures[u] ??= {})[k] = f);
  const changedUsers = new Set<string>();
  for (const [userId, objects] of Object.entries(body)) {
    for (const [keyName, uploaded] of Object.entries(objects)) {
      const device = await keysDb.selectDeviceKeys(hs.sql, userId, keyName);
      const cross = device ? undefined : (await keysDb.selectCrossSigningKeys(hs.sql, [userId])).find((r) => crossSigningPublicKey(r.keyJson)?.publicKey === keyName);
      const stored = device ?? cross?.keyJson;
      if (!stored) {
        fail(userId, keyName, { errcode: Codes.NOT_FOUND, error: 'No such device or cross-signing key.' });
        continue;
      }
      if (!isDeepStrictEqual(strip(stored), strip(uploaded))) {
        fail(userId, keyName, { errcode: Codes.INVALID_PARAM, error: 'The signed object does not match the stored keys.' });
        continue;
      }
      const newSigs = ((uploaded.signatures ?? {}) as Record<string, Record<string, string>>)[requester.userId] ?? {};
      const merged = structuredClone(stored) as KeyJson & { signatures?: Record<string, Record<string, string>> };
      let added = 0;
      for (const [keyId, sig] of Object.entries(newSigs)) {
        const pub = keyId.startsWith('ed25519:') ? await signerKey(hs, requester.userId, keyId) : undefined;
        const candidate = { ...strip(stored), signatures: { [requester.userId]: { [keyId]: sig } } };
        if (!pub || !hasValidSignature(candidate, requester.userId, keyId, pub)) {
          fail(userId, keyName, { errcode: Codes.INVALID_SIGNATURE, error: `Invalid signature ${keyId}.` });
          continue;
        }
        ((merged.signatures ??= {})[requester.userId] ??= {})[keyId] = sig;
        added++;
      }
      if (added === 0) continue;
      await transaction(hs.sql, async (tx) => {
        if (device) await keysDb.upsertDeviceKeys(tx, userId, keyName, merged);
        else await keysDb.upsertCrossSigningKey(tx, userId, cross!.keyType, merged);
        await recordDeviceListChange(tx, userId);
      });
      changedUsers.add(userId);
    }
  }
  for (const u of changedUsers) await wakeDeviceListWatchers(hs, u);
  return { failures };
}
