/**
 * URL previews (GET /_matrix/client/v1/media/preview_url), made only with MEDIA_URL_PREVIEW=on: the page is fetched
 * under the SSRF rules of safe-fetch.ts, its OpenGraph properties read (opengraph.ts), and its og:image fetched under
 * the same rules, checked to be an image (sharp reads its size) and stored as a media item of the requester, whose
 * mxc URI replaces the image's URL. Previews are kept per URL and hour (db/url-previews.ts). A page that is not HTML
 * previews as nothing ({}), an image as itself. Off, the server never learns the URLs people share (403).
 */
import sharp from '../image-decoders.js';
import type { Hs } from '../../../hs.js';
import { deleteUrlPreviewsBefore, insertUrlPreview, selectUrlPreview } from '../../../db/url-previews.js';
import { forbidden, invalidParam, upstreamFailed, type MatrixError } from '../../../errors.js';
import { uploadMedia } from '../upload.js';
import { essence } from '../serving.js';
import { parseOpenGraph, decodePage, type OpenGraph } from './opengraph.js';
import { FetchRefused, fetchableUrl, safeFetch, type FetchPolicy } from './safe-fetch.js';

/** Pages larger than this are not previewed (502); images larger are left out of the preview. */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const HOUR_MS = 3600_000;
/** Previews kept longer are deleted by the media janitor. */
export const PREVIEW_CACHE_MS = 24 * HOUR_MS;
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

export const previewsOff = () => forbidden('URL previews are off on this server: making them would tell the server which links people share.');

function clientError(err: FetchRefused): MatrixError {
  switch (err.reason) {
    case 'url':
      return invalidParam(`url: ${err.message}.`);
    case 'address':
      return forbidden('URL previews are not made of private, local or otherwise not public addresses.');
    case 'timeout':
      return upstreamFailed(504, 'No preview: the page took too long to fetch.');
    default:
      return upstreamFailed(502, `No preview: ${err.message}.`);
  }
}

function policy(hs: Hs, maxBytes: number, accept: string, signal: AbortSignal): FetchPolicy {
  return { allowNetworks: hs.config.mediaUrlPreviewAllowNetworks, maxBytes, maxRedirects: MAX_REDIRECTS, signal, accept };
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** The image at `url`, stored as the requester's media: its mxc URI, type, size and dimensions; undefined when it fails. */
async function storeImage(hs: Hs, userId: string, url: URL, signal: AbortSignal, known?: { body: Buffer; contentType: string }): Promise<OpenGraph | undefined> {
  try {
    const got = known ?? (await safeFetch(url, policy(hs, Math.min(MAX_IMAGE_BYTES, hs.config.maxUploadBytes), 'image/*', signal)));
    const type = essence(got.contentType);
    if (!type.startsWith('image/')) return undefined;
    const meta = await sharp(got.body, { limitInputPixels: 40_000_000 }).metadata();
    const { content_uri } = await uploadMedia(hs, userId, { body: once(got.body), contentType: type, filename: undefined });
    const out: Record<string, unknown> = { 'og:image': content_uri, 'og:image:type': type, 'matrix:image:size': got.body.length };
    if (meta.width) out['og:image:width'] = meta.width;
    if (meta.height) out['og:image:height'] = meta.height;
    return out as OpenGraph;
  } catch (err) {
    // An image that cannot be fetched, read or stored (quota, MEDIA_PLAINTEXT=refuse) leaves the preview without one.
    hs.log.debug({ reason: err instanceof FetchRefused ? err.reason : (err as Error).name }, 'url preview: image left out');
    return undefined;
  }
}

async function makePreview(hs: Hs, userId: string, url: URL): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(hs.config.mediaUrlPreviewTimeoutMs);
  let page;
  try {
    page = await safeFetch(url, policy(hs, MAX_PAGE_BYTES, 'text/html,application/xhtml+xml;q=0.9,image/*;q=0.8', signal));
  } catch (err) {
    if (err instanceof FetchRefused) throw clientError(err);
    throw err;
  }
  const type = essence(page.contentType);
  if (type.startsWith('image/')) return (await storeImage(hs, userId, page.url, signal, page)) ?? {};
  if (!HTML_TYPES.has(type)) return {};
  const og: Record<string, unknown> = parseOpenGraph(decodePage(page.body, page.contentType), page.url);
  delete og['og:image:width'];
  delete og['og:image:height'];
  delete og['og:image:type'];
  const imageUrl = og['og:image'];
  delete og['og:image'];
  if (typeof imageUrl === 'string') {
    let target: URL | undefined;
    try {
      target = fetchableUrl(imageUrl);
    } catch {
      target = undefined;
    }
    const image = target && (await storeImage(hs, userId, target, signal));
    if (image) Object.assign(og, image);
  }
  return og;
}

/** GET preview_url: the preview of `rawUrl` as of `ts` (the cached one of that hour, else made now). */
export async function previewUrl(hs: Hs, userId: string, rawUrl: string, ts: number | undefined): Promise<Record<string, unknown>> {
  if (!hs.config.mediaUrlPreview) throw previewsOff();
  let url: URL;
  try {
    url = fetchableUrl(rawUrl);
  } catch (err) {
    throw clientError(err as FetchRefused);
  }
  const now = Date.now();
  const hour = Math.floor(Math.min(ts ?? now, now) / HOUR_MS);
  const cached = await selectUrlPreview(hs.sql, url.href, hour);
  if (cached) return cached;
  const preview = await makePreview(hs, userId, url);
  await insertUrlPreview(hs.sql, url.href, hour, preview, Date.now());
  return preview;
}

/** The janitor's part: previews older than PREVIEW_CACHE_MS. */
export async function purgeOldPreviews(hs: Hs, now = Date.now()): Promise<number> {
  return deleteUrlPreviewsBefore(hs.sql, now - PREVIEW_CACHE_MS);
}
