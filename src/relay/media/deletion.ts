/**
 * Deleting media: a media id, all of a user's (admin, and erase on deactivation), and with RETENTION=on media not
 * downloaded for MEDIA_RETENTION. Created media ids whose upload never came are deleted once expired, whatever the
 * settings, and URL previews older than a day. A blob goes with the last row (media or thumbnail) that refers to it, under its lock.
 */
import type { Hs } from '../../hs.js';
import { transaction } from '../../db/database.js';
import { deleteMediaRows, isBlobReferenced, lockBlob, selectExpiredMediaIds, selectMediaIdsOfUser } from '../../db/media.js';
import { purgeOldPreviews } from './preview/preview.js';

const BATCH = 100;

/** Deletes these media ids and every blob only they referred to; returns how many rows went. */
export async function deleteMediaIds(hs: Hs, mediaIds: string[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < mediaIds.length; i += BATCH) {
    const batch = mediaIds.slice(i, i + BATCH);
    deleted += await transaction(hs.sql, async (tx) => {
      const blobs = (await deleteMediaRows(tx, batch)).sort();
      for (const sha256 of blobs) {
        await lockBlob(tx, sha256);
        if (!(await isBlobReferenced(tx, sha256))) await hs.media.remove(tx, sha256);
      }
      return batch.length;
    });
  }
  return deleted;
}

/** Every media item the user uploaded (and its thumbnails). */
export async function deleteMediaOfUser(hs: Hs, userId: string): Promise<number> {
  return deleteMediaIds(hs, await selectMediaIdsOfUser(hs.sql, userId));
}

/** One run of the media janitor: expired created ids, old media (RETENTION with MEDIA_RETENTION), cut-short uploads. */
export async function purgeExpiredMedia(hs: Hs, now = Date.now()): Promise<number> {
  const lastAccessBefore = hs.config.retention && hs.config.mediaRetentionMs !== undefined ? now - hs.config.mediaRetentionMs : undefined;
  let deleted = 0;
  for (;;) {
    const ids = await selectExpiredMediaIds(hs.sql, lastAccessBefore, now, 500);
    if (ids.length === 0) break;
    deleted += await deleteMediaIds(hs, ids);
    if (ids.length < 500) break;
  }
  // An upload in progress is at most this old; anything older was cut short by a crash.
  await hs.media.sweep(STAGING_MAX_AGE_MS);
  await purgeOldPreviews(hs, now);
  if (deleted > 0) hs.log.info({ media: deleted }, 'media janitor: expired media deleted');
  return deleted;
}

export const STAGING_MAX_AGE_MS = 24 * 3600_000;

/** Starts the periodic media janitor; returns a stop function. */
export function startMediaJanitor(hs: Hs, intervalMs = hs.config.retention ? hs.config.retentionIntervalMs : 10 * 60_000): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeExpiredMedia(hs)
      .catch((err) => hs.log.error({ err: { message: (err as Error).message } }, 'media janitor failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
