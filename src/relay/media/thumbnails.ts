/**
 * Thumbnails, only of plaintext images (avatars, room avatars: the one place clients upload images unencrypted).
 * Encrypted attachments are application/octet-stream to the server and are never opened: a thumbnail is made only
 * when the declared type is an image type sharp reads, and sharp refuses anything that is not really one. A request
 * is served from the closest of a few fixed sizes (those Element asks for), each made once with sharp and kept in the
 * blob store (media_thumbnails), so no client can make the server store a thumbnail per pixel size.
 */
import sharp from 'sharp';
import type { Readable } from 'node:stream';
import type { Hs } from '../../hs.js';
import { transaction } from '../../db/database.js';
import { insertThumbnail, lockBlob, selectThumbnail, type ThumbnailRow } from '../../db/media.js';
import { tooLarge, unknownError } from '../../errors.js';
import { essence } from './serving.js';
import { openMedia, type CompleteMedia } from './download.js';

export type ThumbnailMethod = 'crop' | 'scale';

/** The sizes made (Synapse's defaults, which are what Element asks for: 32 and 96 crop for avatars, 800x600 scale for images). */
export const THUMBNAIL_SIZES: { width: number; height: number; method: ThumbnailMethod }[] = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 320, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
];

/** Types a thumbnail is made of; anything else (application/octet-stream: ciphertext) is never read. */
const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/apng']);
/** Larger sources are not thumbnailed (spec: 413 M_TOO_LARGE). */
export const MAX_THUMBNAIL_SOURCE_BYTES = 20 * 1024 * 1024;
/** sharp refuses images with more pixels (decompression bombs). */
const MAX_INPUT_PIXELS = 40_000_000;

/** The fixed size that serves a request: the smallest of its method at least as large, else the largest. */
export function pickSize(width: number, height: number, method: ThumbnailMethod): { width: number; height: number; method: ThumbnailMethod } {
  const same = THUMBNAIL_SIZES.filter((s) => s.method === method);
  return same.find((s) => s.width >= width && s.height >= height) ?? same[same.length - 1];
}

export function canThumbnail(media: CompleteMedia): boolean {
  return media.contentType !== null && THUMBNAILABLE.has(essence(media.contentType));
}

async function render(source: Readable, width: number, height: number, method: ThumbnailMethod, asJpeg: boolean): Promise<Buffer> {
  const pipeline = sharp({ limitInputPixels: MAX_INPUT_PIXELS, animated: false })
    .rotate()
    .resize(width, height, method === 'crop' ? { fit: 'cover' } : { fit: 'inside', withoutEnlargement: true });
  const out = asJpeg ? pipeline.jpeg({ quality: 80 }) : pipeline.png();
  source.pipe(out);
  try {
    return await out.toBuffer();
  } finally {
    source.destroy();
  }
}

/** The thumbnail for a request: the stored one, or made now and stored. */
export async function thumbnailOf(hs: Hs, media: CompleteMedia, width: number, height: number, method: ThumbnailMethod): Promise<ThumbnailRow> {
  if (!canThumbnail(media)) throw unknownError(400, 'Thumbnails are made only of images (png, jpeg, gif, webp); this media is not one.');
  if (media.size > MAX_THUMBNAIL_SOURCE_BYTES) throw tooLarge('The image is too large to thumbnail.');
  const size = pickSize(width, height, method);
  const known = await selectThumbnail(hs.sql, media.mediaId, size.width, size.height, size.method);
  if (known) return known;
  const asJpeg = essence(media.contentType!) === 'image/jpeg';
  let bytes: Buffer;
  try {
    bytes = await render(await openMedia(hs, media), size.width, size.height, size.method, asJpeg);
  } catch (err) {
    if ((err as { status?: number }).status !== undefined) throw err;
    throw unknownError(400, 'Cannot make a thumbnail of this media: it is not a readable image.');
  }
  const staged = await hs.media.stage([bytes], MAX_THUMBNAIL_SOURCE_BYTES);
  const row: ThumbnailRow = { mediaId: media.mediaId, ...size, contentType: asJpeg ? 'image/jpeg' : 'image/png', size: staged.size, sha256: staged.sha256 };
  try {
    await transaction(hs.sql, async (tx) => {
      await lockBlob(tx, staged.sha256);
      if (await insertThumbnail(tx, row)) await staged.publish(tx);
    });
  } finally {
    await staged.discard();
  }
  return (await selectThumbnail(hs.sql, media.mediaId, size.width, size.height, size.method)) ?? row;
}

/** The bytes of a stored thumbnail; undefined when its blob is gone. */
export async function openThumbnail(hs: Hs, thumb: ThumbnailRow): Promise<Readable | undefined> {
  return hs.media.open(thumb.sha256, thumb.size);
}
