/**
 * Thumbnails, only of plaintext images (avatars, room avatars: the one place clients upload images unencrypted).
 * Encrypted attachments are application/octet-stream to the server and are never opened: a thumbnail is made only
 * when the declared type is an image type sharp reads, and sharp refuses anything that is not really one of the
 * formats image-decoders.ts leaves it (an SVG or TIFF declared image/png is never decoded). A request
 * is served from the closest of a few fixed sizes (those Element asks for), each made once with sharp and kept in the
 * blob store (media_thumbnails), so no client can make the server store a thumbnail per pixel size. With
 * animated=true an animated GIF or WebP gives an animated WebP thumbnail, cached apart from the still one.
 */
import sharp, { type ResizeOptions, type Sharp } from './image-decoders.js';
import type { Readable } from 'node:stream';
import type { Hs } from '../../hs.js';
import { transaction } from '../../db/database.js';
import { insertThumbnail, lockBlob, selectThumbnail, type ThumbnailRow } from '../../db/media.js';
import { tooLarge, unknownError } from '../../errors.js';
import { essence } from './serving.js';
import { openMedia, type CompleteMedia } from './download.js';
import { createLimiter } from '../../lib/concurrency.js';

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
/**
 * Thumbnails rendered at once by this process; more wait their turn. sharp decodes on libuv's thread pool (4
 * threads, shared with every file read and write of the media store), and a 40-megapixel source takes seconds and
 * 160 MB: unbounded, two dozen thumbnail requests of a few small PNG bombs held every upload and download of the
 * server for 16 s and the process at 600 MB. Two leave the pool half free, whatever clients ask.
 */
export const THUMBNAIL_RENDERS_AT_ONCE = 2;
const renders = createLimiter(THUMBNAIL_RENDERS_AT_ONCE);

/** The fixed size that serves a request: the smallest of its method at least as large, else the largest. */
export function pickSize(width: number, height: number, method: ThumbnailMethod): { width: number; height: number; method: ThumbnailMethod } {
  const same = THUMBNAIL_SIZES.filter((s) => s.method === method);
  return same.find((s) => s.width >= width && s.height >= height) ?? same[same.length - 1];
}

export function canThumbnail(media: CompleteMedia): boolean {
  return media.contentType !== null && THUMBNAILABLE.has(essence(media.contentType));
}

/** Animated sources sharp reads frame by frame (libvips reads only the first frame of an APNG: a still). */
const ANIMATABLE = new Set(['image/gif', 'image/webp']);

type Output = { format: 'jpeg' | 'png' | 'webp'; contentType: string };
const STILL_JPEG: Output = { format: 'jpeg', contentType: 'image/jpeg' };
const STILL_PNG: Output = { format: 'png', contentType: 'image/png' };
/** Animated thumbnails are WebP, which the spec prefers for animation. */
const ANIMATED_WEBP: Output = { format: 'webp', contentType: 'image/webp' };

function resizeOptions(method: ThumbnailMethod): ResizeOptions {
  return method === 'crop' ? { fit: 'cover' } : { fit: 'inside', withoutEnlargement: true };
}

function encode(pipeline: Sharp, out: Output): Sharp {
  if (out.format === 'jpeg') return pipeline.jpeg({ quality: 80 });
  if (out.format === 'webp') return pipeline.webp({ quality: 80, effort: 2 });
  return pipeline.png();
}

/** A still thumbnail (the first frame of an animated source), streamed from the store into sharp. */
async function renderStill(source: Readable, width: number, height: number, method: ThumbnailMethod, out: Output): Promise<Buffer> {
  const pipeline = encode(sharp({ limitInputPixels: MAX_INPUT_PIXELS, animated: false }).rotate().resize(width, height, resizeOptions(method)), out);
  source.pipe(pipeline);
  try {
    return await pipeline.toBuffer();
  } finally {
    source.destroy();
  }
}

/** Every frame resized, as an animated WebP; undefined when the source has only one frame (then a still serves). */
async function renderAnimated(source: Buffer, width: number, height: number, method: ThumbnailMethod): Promise<Buffer | undefined> {
  const { pages } = await sharp(source, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  if ((pages ?? 1) < 2) return undefined;
  // limitInputPixels counts the frames together, so a long animation is refused as a large still would be.
  return encode(sharp(source, { limitInputPixels: MAX_INPUT_PIXELS, animated: true }).resize(width, height, resizeOptions(method)), ANIMATED_WEBP).toBuffer();
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Stores a rendered thumbnail (once: a request racing this one may have stored it first) and answers its row. */
async function keep(hs: Hs, row: Omit<ThumbnailRow, 'size' | 'sha256'>, bytes: Buffer): Promise<ThumbnailRow> {
  const staged = await hs.media.stage([bytes], MAX_THUMBNAIL_SOURCE_BYTES);
  const full: ThumbnailRow = { ...row, size: staged.size, sha256: staged.sha256 };
  try {
    await transaction(hs.sql, async (tx) => {
      await lockBlob(tx, staged.sha256);
      if (await insertThumbnail(tx, full)) await staged.publish(tx);
    });
  } finally {
    await staged.discard();
  }
  return (await selectThumbnail(hs.sql, row.mediaId, row.width, row.height, row.method, row.animated)) ?? full;
}

const unreadable = (err: unknown) => {
  if ((err as { status?: number }).status !== undefined) return err;
  return unknownError(400, 'Cannot make a thumbnail of this media: it is not a readable image.');
};

/**
 * The thumbnail for a request: the stored one, or made now and stored. With `animated` (spec v1.11: animated=true)
 * an animated GIF or WebP gives an animated WebP; anything else, and animated false or absent, a still (JPEG of a
 * JPEG, else PNG). Still and animated thumbnails of one size are cached apart.
 */
export async function thumbnailOf(hs: Hs, media: CompleteMedia, width: number, height: number, method: ThumbnailMethod, animated = false): Promise<ThumbnailRow> {
  if (!canThumbnail(media)) throw unknownError(400, 'Thumbnails are made only of images (png, jpeg, gif, webp); this media is not one.');
  if (media.size > MAX_THUMBNAIL_SOURCE_BYTES) throw tooLarge('The image is too large to thumbnail.');
  const size = pickSize(width, height, method);
  const type = essence(media.contentType!);
  if (animated && ANIMATABLE.has(type)) {
    // Sources are at most MAX_THUMBNAIL_SOURCE_BYTES: read whole, as sharp needs the frame count before resizing.
    const moving = await storedOrRendered(hs, media, size, true, ANIMATED_WEBP.contentType, async () =>
      renderAnimated(await readAll(await openMedia(hs, media)), size.width, size.height, size.method));
    if (moving) return moving;
  }
  const out = type === 'image/jpeg' ? STILL_JPEG : STILL_PNG;
  const still = await storedOrRendered(hs, media, size, false, out.contentType, async () =>
    renderStill(await openMedia(hs, media), size.width, size.height, size.method, out));
  return still!;
}

/**
 * The stored thumbnail of one size, or one rendered now (within the render limit) and stored; undefined when `render`
 * gives nothing. The store is read again once a render slot is free, so requests for one avatar that queued
 * together render it once.
 */
async function storedOrRendered(
  hs: Hs, media: CompleteMedia, size: (typeof THUMBNAIL_SIZES)[number], animated: boolean, contentType: string, render: () => Promise<Buffer | undefined>,
): Promise<ThumbnailRow | undefined> {
  const stored = () => selectThumbnail(hs.sql, media.mediaId, size.width, size.height, size.method, animated);
  const known = await stored();
  if (known) return known;
  const made = await renders.run(async () => {
    const meanwhile = await stored();
    if (meanwhile) return meanwhile;
    try {
      return await render();
    } catch (err) {
      throw unreadable(err);
    }
  });
  if (!Buffer.isBuffer(made)) return made;
  return keep(hs, { mediaId: media.mediaId, ...size, animated, contentType }, made);
}

/** The bytes of a stored thumbnail; undefined when its blob is gone. */
export async function openThumbnail(hs: Hs, thumb: ThumbnailRow): Promise<Readable | undefined> {
  return hs.media.open(thumb.sha256, thumb.size);
}
