/**
 * The image decoders the server lets sharp (libvips) run on bytes from users and from previewed pages: JPEG, PNG
 * (APNG is read as its first frame), GIF and WebP, the types thumbnails are made of. libvips picks a decoder by
 * the bytes, not by the declared type, so without this an upload declared image/png that is really SVG (librsvg and
 * libxml2), TIFF, HEIF/AVIF, JPEG 2000 or FITS would be decoded by a library the server never meant to expose to
 * hostile input. Every other loader is blocked process-wide (libvips skips blocked loaders when it sniffs a format,
 * so such bytes are "unsupported image format": a 400 for a thumbnail, no image in a preview). Import sharp from
 * here, never from 'sharp', so that the block is in place before any image is read.
 */
import sharp from 'sharp';

/** libvips loader classes (each covers its file, buffer and stream variants) that stay allowed. */
export const ALLOWED_IMAGE_LOADERS = ['VipsForeignLoadJpeg', 'VipsForeignLoadPng', 'VipsForeignLoadNsgif', 'VipsForeignLoadWebp'];

sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: ALLOWED_IMAGE_LOADERS });

export default sharp;
export type { ResizeOptions, Sharp } from 'sharp';
