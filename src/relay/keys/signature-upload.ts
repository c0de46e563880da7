/**
 * POST /keys/signatures/upload: who may sign what. A user's self-signing key signs that user's own devices; a
 * user's device signs that user's master key; a user's user-signing key signs other users' master keys. Nothing
 * else is signed here. Every new signature must verify (ed25519 over canonical JSON) against the stored object,
 * which the uploaded one must match; an object with any signature outside these rules lands in `failures`, and
 * nothing of it is stored.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Hs } from '../../hs.js';
import { Codes, type Errcode } from '../../errors.js';
import * as keysDb from '../../db/keys.js';
import type { KeyJson } from '../../db/keys.js';
import { transaction, type Db } from '../../db/database.js';
import type { Requester } from '../../hs.js';
import { hasValidSignature } from './signatures.js';
import { crossSigningPublicKey } from './cross-signing.js';
import { recordDeviceListChange, wakeDeviceListWatchers } from './device-lists.js';
import { onDeviceListChange } from '../wakes.js';

type Failure = { errcode: Errcode; error: string };
type Signatures = Record<string, Record<string, string>>;

const failure = (errcode: Errcode, error: string): Failure => ({ errcode, error });
const invalidSignature = (error: string) => failure(Codes.INVALID_SIGNATURE, error);

/** What an uploaded object names: one of the target user's devices, or their master key. */
type Target = { kind: 'device'; deviceId: string; stored: KeyJson } | { kind: 'master'; stored: KeyJson };

function withoutSignatures(o: KeyJson): KeyJson {
  const { signatures: _s, unsigned: _u, ...rest } = o;
  return rest;
}

function signaturesOf(o: KeyJson): Signatures {
  const s = o.signatures;
  return typeof s === 'object' && s !== null && !Array.isArray(s) ? (s as Signatures) : {};
}

async function crossSigningKey(db: Db, userId: string, type: 'master' | 'self_signing' | 'user_signing') {
  const row = (await keysDb.selectCrossSigningKeys(db, [userId])).find((r) => r.keyType === type);
  return row ? { json: row.keyJson, ...crossSigningPublicKey(row.keyJson)! } : undefined;
}

/** The object `keyName` of `userId` that the requester may sign, or why they may not. */
async function findTarget(db: Db, requester: Requester, userId: string, keyName: string): Promise<Target | Failure> {
  const master = await crossSigningKey(db, userId, 'master');
  if (master && master.publicKey === keyName) return { kind: 'master', stored: master.json };
  if (userId !== requester.userId) {
    return invalidSignature(`Of another user, only the master key can be signed (by your user-signing key); ${keyName} is not ${userId}'s master key.`);
  }
  const device = await keysDb.selectDeviceKeys(db, userId, keyName);
  if (device) return { kind: 'device', deviceId: keyName, stored: device };
  return failure(Codes.NOT_FOUND, `You have no device ${keyName} with keys, and it is not your master key.`);
}

/**
 * The public key that may sign `target` under `keyId` for the requester, or why that key may not sign it.
 * Devices are signed by their user's self-signing key; the master key by its user's devices; other users'
 * master keys by the requester's user-signing key.
 */
async function allowedSigner(db: Db, requester: Requester, userId: string, target: Target, keyId: string): Promise<string | Failure> {
  if (userId !== requester.userId) {
    const usk = await crossSigningKey(db, requester.userId, 'user_signing');
    if (!usk) return failure(Codes.NOT_FOUND, 'You have no user-signing key to sign other users with.');
    if (keyId !== usk.keyId) return invalidSignature(`Another user's master key is signed only by your user-signing key (${usk.keyId}), not ${keyId}.`);
    return usk.publicKey;
  }
  if (target.kind === 'device') {
    const ssk = await crossSigningKey(db, requester.userId, 'self_signing');
    if (!ssk) return failure(Codes.NOT_FOUND, 'You have no self-signing key to sign your devices with.');
    if (keyId !== ssk.keyId) return invalidSignature(`Your devices are signed only by your self-signing key (${ssk.keyId}), not ${keyId}.`);
    return ssk.publicKey;
  }
  const deviceId = keyId.startsWith('ed25519:') ? keyId.slice('ed25519:'.length) : '';
  const signer = deviceId ? await keysDb.selectDeviceKeys(db, requester.userId, deviceId) : undefined;
  const publicKey = (signer?.keys as Record<string, unknown> | undefined)?.[keyId];
  if (typeof publicKey !== 'string') return invalidSignature(`Your master key is signed here only by one of your devices; ${keyId} is not one.`);
  return publicKey;
}

/** The requester's new signatures on `uploaded` (those the stored object lacks), or why the object fails. */
function newSignatures(requester: Requester, uploaded: KeyJson, stored: KeyJson): Record<string, string> | Failure {
  const have = signaturesOf(stored);
  const sent = signaturesOf(uploaded);
  const fresh: Record<string, string> = {};
  for (const [signer, sigs] of Object.entries(sent)) {
    if (typeof sigs !== 'object' || sigs === null) return invalidSignature(`signatures.${signer} must be an object.`);
    for (const [keyId, sig] of Object.entries(sigs)) {
      if (have[signer]?.[keyId] === sig) continue;
      if (signer !== requester.userId) return invalidSignature(`Only your own signatures can be uploaded; the one by ${signer} (${keyId}) is not stored here.`);
      if (typeof sig !== 'string') return invalidSignature(`Signature ${keyId} must be a string.`);
      fresh[keyId] = sig;
    }
  }
  if (Object.keys(fresh).length === 0 && !sent[requester.userId]) return invalidSignature(`The object carries no signature by ${requester.userId}.`);
  return fresh;
}

const isFailure = (v: unknown): v is Failure => typeof v === 'object' && v !== null && 'errcode' in v;

/** Checks one uploaded object; returns the signatures to add (possibly none: already stored) or a failure. */
async function checkObject(db: Db, requester: Requester, userId: string, keyName: string, uploaded: KeyJson): Promise<{ target: Target; add: Record<string, string> } | Failure> {
  const target = await findTarget(db, requester, userId, keyName);
  if (isFailure(target)) return target;
  if (!isDeepStrictEqual(withoutSignatures(target.stored), withoutSignatures(uploaded))) {
    return failure(Codes.INVALID_PARAM, `The signed object does not match the stored ${target.kind === 'master' ? 'master key' : 'device keys'} of ${userId}.`);
  }
  const add = newSignatures(requester, uploaded, target.stored);
  if (isFailure(add)) return add;
  for (const [keyId, sig] of Object.entries(add)) {
    const publicKey = await allowedSigner(db, requester, userId, target, keyId);
    if (isFailure(publicKey)) return publicKey;
    const candidate = { ...withoutSignatures(target.stored), signatures: { [requester.userId]: { [keyId]: sig } } };
    if (!hasValidSignature(candidate, requester.userId, keyId, publicKey)) return invalidSignature(`The signature by ${keyId} does not verify.`);
  }
  return { target, add };
}

/** Adds `add` to the stored object, re-read in the transaction so that concurrent uploads keep each other's signatures. */
async function storeSignatures(hs: Hs, requester: Requester, userId: string, keyName: string, expected: Target, add: Record<string, string>): Promise<Failure | undefined> {
  return transaction(hs.sql, async (tx) => {
    const target = await findTarget(tx, requester, userId, keyName);
    // The key was replaced since it was checked: the signatures were over the old one.
    if (isFailure(target) || target.kind !== expected.kind || !isDeepStrictEqual(withoutSignatures(target.stored), withoutSignatures(expected.stored))) {
      return failure(Codes.INVALID_PARAM, `The ${expected.kind === 'master' ? 'master key' : 'device keys'} of ${userId} changed while signing.`);
    }
    const merged = structuredClone(target.stored);
    const signatures = (merged.signatures = structuredClone(signaturesOf(merged)));
    signatures[requester.userId] = { ...(signatures[requester.userId] ?? {}), ...add };
    if (target.kind === 'device') await keysDb.upsertDeviceKeys(tx, userId, target.deviceId, merged);
    else await keysDb.upsertCrossSigningKey(tx, userId, 'master', merged);
    // A signature by a user-signing key is seen only by its signer (the spec keeps who verified whom private).
    await recordDeviceListChange(tx, userId, userId === requester.userId ? undefined : requester.userId);
    return undefined;
  });
}

export async function uploadSignatures(hs: Hs, requester: Requester, body: Record<string, Record<string, KeyJson>>) {
  const failures: Record<string, Record<string, Failure>> = {};
  const changed = new Set<string>();
  for (const [userId, objects] of Object.entries(body)) {
    for (const [keyName, uploaded] of Object.entries(objects)) {
      const checked = await checkObject(hs.sql, requester, userId, keyName, uploaded);
      const failed = isFailure(checked) ? checked : Object.keys(checked.add).length > 0 ? await storeSignatures(hs, requester, userId, keyName, checked.target, checked.add) : undefined;
      if (failed) (failures[userId] ??= {})[keyName] = failed;
      else if (!isFailure(checked) && Object.keys(checked.add).length > 0) changed.add(userId);
    }
  }
  for (const userId of changed) {
    if (userId === requester.userId) await wakeDeviceListWatchers(hs, userId);
    else onDeviceListChange(hs.notifier, [requester.userId]);
  }
  return { failures };
}
