/**
 * Uploads: POST /upload (a new media id with its content), POST /create (a media id now, its content later) and
 * PUT /upload/{serverName}/{mediaId} (that content: only its creator, only once, before it expires). The bytes stream
 * into the blob store while hashed, under MAX_UPLOAD_BYTES and the user's quota; the metadata row and the blob's
 * publication commit together.
 */
import type { Hs } from '../../hs.js';
import { transaction, type Tx } from '../../db/database.js';
import {
  completePendingMedia, countPendingMedia, insertCompleteMedia, insertPendingMedia, lockBlob, lockUserMedia, selectMedia, selectUsedBytes, type BlobFacts,
} from '../../db/media.js';
import { cannotOverwriteMedia, forbidden, limitExceeded, notFound, unknownToken } from '../../errors.js';
import { lockActiveUser } from '../../db/users.js';
import { randomId } from '../../lib/tokens.js';
import { isMediaId } from '../../lib/identifiers.js';
import type { StagedBlob } from './blob-store.js';
import { refusePlaintext } from './plaintext.js';
import { onMediaUploaded } from '../wakes.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newMediaId(): string {
  return randomId(24, ID_ALPHABET);
}

export const mxcUri = (serverName: string, mediaId: string) => `mxc://${serverName}/${mediaId}`;

export interface UploadInput {
  body: AsyncIterable<Buffer | Uint8Array>;
  contentType: string;
  filename: string | undefined;
}

/** How many more bytes the user may store: MAX_UPLOAD_BYTES, or less when the quota is nearly used. */
async function allowance(hs: Hs, userId: string): Promise<{ limit: number; byQuota: boolean }> {
  const max = hs.config.maxUploadBytes;
  if (hs.config.mediaQuotaBytes === 0) return { limit: max, byQuota: false };
  const left = hs.config.mediaQuotaBytes - (await selectUsedBytes(hs.sql, userId));
  if (left <= 0) throw overQuota();
  return left < max ? { limit: left, byQuota: true } : { limit: max, byQuota: false };
}

const overQuota = () => forbidden('You have reached your media storage quota; delete media or ask the server admin for more.');

/** Streams the body aside; refuses it (leaving nothing) past the limit, and with MEDIA_PLAINTEXT=refuse when recognisable. */
async function stage(hs: Hs, userId: string, input: UploadInput): Promise<StagedBlob> {
  const { limit, byQuota } = await allowance(hs, userId);
  const staged = await hs.media.stage(input.body, limit, byQuota ? overQuota : undefined);
  try {
    if (hs.config.mediaPlaintext === 'refuse') await refusePlaintext(staged.head);
  } catch (err) {
    await staged.discard();
    throw err;
  }
  return staged;
}

/**
 * An upload authenticated before its account was deactivated may end after the deactivation erased the account's
 * media: checked (and the account row held) in the transaction that records it, so it is either recorded before the
 * deactivation (and erased with the rest) or refused.
 */
async function refuseDeactivated(tx: Tx, userId: string): Promise<void> {
  if (!(await lockActiveUser(tx, userId))) throw unknownToken('This account was deactivated.');
}

/**
 * Records the staged blob under its metadata in one transaction holding the user's quota lock and the blob's lock;
 * `record` writes the row (and may refuse). On any refusal the staged bytes go.
 */
async function commitUpload(hs: Hs, userId: string, staged: StagedBlob, record: (tx: Tx) => Promise<void>): Promise<void> {
  try {
    await transaction(hs.sql, async (tx) => {
      await lockUserMedia(tx, userId);
      await refuseDeactivated(tx, userId);
      if (hs.config.mediaQuotaBytes > 0 && (await selectUsedBytes(tx, userId)) + staged.size > hs.config.mediaQuotaBytes) throw overQuota();
      await record(tx);
      await lockBlob(tx, staged.sha256);
      await staged.publish(tx);
    });
  } finally {
    await staged.discard();
  }
}

/** POST /upload: the content, under a new media id. */
export async function uploadMedia(hs: Hs, userId: string, input: UploadInput): Promise<{ content_uri: string }> {
  const staged = await stage(hs, userId, input);
  const mediaId = newMediaId();
  const facts: BlobFacts = { contentType: input.contentType, filename: input.filename ?? null, size: staged.size, sha256: staged.sha256 };
  await commitUpload(hs, userId, staged, (tx) => insertCompleteMedia(tx, mediaId, userId, facts, Date.now()));
  hs.log.debug({ size: staged.size }, 'media uploaded');
  return { content_uri: mxcUri(hs.config.serverName, mediaId) };
}

/** POST /create: a media id whose content comes later, at most MEDIA_PENDING_UPLOADS at a time per user. */
export async function createMedia(hs: Hs, userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
  const now = Date.now();
  const expires = now + hs.config.mediaUnusedExpiresMs;
  const mediaId = newMediaId();
  await transaction(hs.sql, async (tx) => {
    await lockUserMedia(tx, userId);
    await refuseDeactivated(tx, userId);
    if ((await countPendingMedia(tx, userId, now)) >= hs.config.mediaPendingUploads) throw limitExceeded(60_000);
    await insertPendingMedia(tx, mediaId, userId, now, expires);
  });
  return { content_uri: mxcUri(hs.config.serverName, mediaId), unused_expires_at: expires };
}

/** The pending media id a PUT names, checked before any byte is read: it exists, is the caller's, is still pending. */
async function pendingOf(hs: Hs, userId: string, serverName: string, mediaId: string): Promise<void> {
  const row = serverName === hs.config.serverName && isMediaId(mediaId) ? await selectMedia(hs.sql, mediaId) : undefined;
  if (!row || (row.state === 'pending' && (row.unusedExpiresTs ?? 0) <= Date.now())) throw notFound('Unknown or expired media id.');
  if (row.userId !== userId) throw forbidden('Only the user who created this media id may upload its content.');
  if (row.state !== 'pending') throw cannotOverwriteMedia();
}

/** PUT /upload/{serverName}/{mediaId}: the content of a media id made by POST /create. */
export async function uploadToCreatedMedia(hs: Hs, userId: string, serverName: string, mediaId: string, input: UploadInput): Promise<Record<string, never>> {
  await pendingOf(hs, userId, serverName, mediaId);
  const staged = await stage(hs, userId, input);
  const facts: BlobFacts = { contentType: input.contentType, filename: input.filename ?? null, size: staged.size, sha256: staged.sha256 };
  await commitUpload(hs, userId, staged, async (tx) => {
    // Checked again under the lock: two PUTs racing, or an expiry meanwhile.
    const row = await selectMedia(tx, mediaId);
    if (!row || (row.state === 'pending' && (row.unusedExpiresTs ?? 0) <= Date.now())) throw notFound('Unknown or expired media id.');
    if (!(await completePendingMedia(tx, mediaId, facts, Date.now()))) throw cannotOverwriteMedia();
  });
  onMediaUploaded(hs.notifier, mediaId);
  return {};
}
