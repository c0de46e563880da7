/**
 * Downloads: the media a mxc:// URI names, once its content is there. A media id created with POST /create but not
 * yet uploaded is waited for up to the client's timeout_ms (woken by the upload, relay/wakes.ts), then 504
 * M_NOT_YET_UPLOADED. Only this server's media exists here (no federation): another server name is 404.
 */
import type { Readable } from 'node:stream';
import type { Hs } from '../../hs.js';
import { selectMedia, touchMedia, type MediaRow } from '../../db/media.js';
import { notFound, notYetUploaded } from '../../errors.js';
import { isMediaId } from '../../lib/identifiers.js';
import { mediaKey } from '../notifier.js';
import type { ByteRange } from './blob-store.js';

/** Spec default for timeout_ms; the longest wait granted. */
export const DEFAULT_TIMEOUT_MS = 20_000;
export const MAX_TIMEOUT_MS = 120_000;
/** last_access_ts is written at most this often per media id. */
const ACCESS_GRANULARITY_MS = 3600_000;

export type CompleteMedia = MediaRow & { state: 'complete'; sha256: string; size: number };

const unknownMedia = () => notFound('Unknown media.');

/** The complete media a URI names, waiting up to `timeoutMs` for a pending one. */
export async function findMedia(hs: Hs, serverName: string, mediaId: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CompleteMedia> {
  if (serverName !== hs.config.serverName || !isMediaId(mediaId)) throw unknownMedia();
  const deadline = Date.now() + Math.min(Math.max(0, timeoutMs), MAX_TIMEOUT_MS);
  for (;;) {
    // Listening before reading: an upload that commits in between still wakes this wait.
    const listener = hs.notifier.listen([mediaKey(mediaId)]);
    try {
      const row = await selectMedia(hs.sql, mediaId);
      if (!row) throw unknownMedia();
      if (row.state === 'complete') return row as CompleteMedia;
      if ((row.unusedExpiresTs ?? 0) <= Date.now()) throw unknownMedia();
      const left = deadline - Date.now();
      if (left <= 0) throw notYetUploaded();
      // Woken by the upload (here or in another process); re-read either way, so a missed wake costs only a second.
      const waitMs = Math.min(left, 1000);
      const started = Date.now();
      const woken = await listener.wait(waitMs);
      // Neither woken nor timed out: the notifier closed (shutdown), and every later wait would return at once.
      if (!woken && Date.now() - started < waitMs / 2) throw notYetUploaded();
    } finally {
      listener.close();
    }
  }
}

/** The media's bytes (or a range); records the access for retention. A blob missing from the store is 404. */
export async function openMedia(hs: Hs, media: CompleteMedia, range?: ByteRange): Promise<Readable> {
  const stream = await hs.media.open(media.sha256, media.size, range);
  if (!stream) {
    hs.log.warn({ mediaId: media.mediaId }, 'media blob missing from the store');
    throw unknownMedia();
  }
  await touchMedia(hs.sql, media.mediaId, Date.now(), ACCESS_GRANULARITY_MS);
  return stream;
}
