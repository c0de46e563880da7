/**
 * The content repository over HTTP: uploads (streamed: the edge leaves their bodies unread, `streamsBody`), the
 * authenticated downloads and thumbnails of spec v1.11 (written by the handler, `writesResponse`, with the safe
 * serving headers of relay/media/serving.ts), the config, and URL previews, made only with MEDIA_URL_PREVIEW=on
 * (relay/media/preview/). The unauthenticated v3 downloads are served only with MEDIA_LEGACY_UNAUTHENTICATED=on.
 */
import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Hs } from '../hs.js';
import { forbidden, invalidParam, notFound, rangeNotSatisfiable, tooLarge, unknownError } from '../errors.js';
import { createMedia, uploadMedia, uploadToCreatedMedia, type UploadInput } from '../relay/media/upload.js';
import { findMedia, openMedia, type CompleteMedia } from '../relay/media/download.js';
import { openThumbnail, thumbnailOf } from '../relay/media/thumbnails.js';
import { previewUrl } from '../relay/media/preview/preview.js';
import { isContentType, isSafeFilename, parseRange, servingHeaders } from '../relay/media/serving.js';
import { CLIENT_V1, route, type Route } from './route.js';

const MEDIA_V3 = '/_matrix/media/v3';
const MEDIA_V1 = '/_matrix/media/v1';
const CLIENT_MEDIA = `${CLIENT_V1}/media`;

const filenameParam = z.string().refine(isSafeFilename, 'must be a file name (no path separators or control characters, at most 255 bytes)');

/** The request body as it arrives; a connection dropped mid-upload is a client's error (400), not the server's. */
async function* requestBody(ctx: Context): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of ctx.req) yield chunk as Buffer;
  } catch {
    throw unknownError(400, 'The upload was cut short.');
  }
}

/** The upload's body and what the client says of it; a declared length over the limit is refused before reading. */
function uploadInput(hs: Hs, ctx: Context, filename: string | undefined): UploadInput {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > hs.config.maxUploadBytes) throw tooLarge(`The upload is larger than ${hs.config.maxUploadBytes} bytes.`);
  const given = ctx.get('content-type').trim();
  if (given !== '' && !isContentType(given)) throw invalidParam('The Content-Type header is not a media type (type/subtype).');
  return { body: requestBody(ctx), contentType: given === '' ? 'application/octet-stream' : given, filename };
}

const uploadQuery = z.object({ filename: filenameParam.optional() });
const timeoutQuery = { timeout_ms: z.coerce.number().int().min(0).optional() };
const downloadQuery = z.object({ ...timeoutQuery, allow_redirect: z.string().optional() });
const previewQuery = z.object({ url: z.string(), ts: z.coerce.number().int().min(0).optional() });
const thumbnailQuery = z.object({
  width: z.coerce.number().int().min(1).max(10_000),
  height: z.coerce.number().int().min(1).max(10_000),
  method: z.enum(['crop', 'scale']).default('scale'),
  animated: z.enum(['true', 'false']).optional(),
  ...timeoutQuery,
  allow_redirect: z.string().optional(),
});

function send(ctx: Context, headers: Record<string, string>, body: Readable, status = 200): void {
  ctx.status = status;
  ctx.set(headers);
  ctx.body = body;
}

/** A download: the whole content, or one byte range of it (206), or 416 for a range past its end. */
async function serveContent(hs: Hs, ctx: Context, media: CompleteMedia, filename: string | undefined): Promise<void> {
  const headers: Record<string, string> = { ...servingHeaders(media.contentType ?? 'application/octet-stream', filename), 'Accept-Ranges': 'bytes' };
  const range = parseRange(ctx.get('range') || undefined, media.size);
  if (range.kind === 'unsatisfiable') throw rangeNotSatisfiable(media.size);
  if (range.kind === 'range') {
    const stream = await openMedia(hs, media, range);
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${media.size}`;
    headers['Content-Length'] = String(range.end - range.start + 1);
    send(ctx, headers, stream, 206);
  } else {
    const stream = await openMedia(hs, media);
    headers['Content-Length'] = String(media.size);
    send(ctx, headers, stream);
  }
}

type DownloadQuery = z.output<typeof downloadQuery>;
type ThumbnailQuery = z.output<typeof thumbnailQuery>;

async function download(hs: Hs, ctx: Context, params: Record<string, string>, query: DownloadQuery): Promise<void> {
  if (params.fileName !== undefined && !isSafeFilename(params.fileName)) throw invalidParam('The file name must not hold path separators or control characters.');
  const media = await findMedia(hs, params.serverName, params.mediaId, query.timeout_ms);
  await serveContent(hs, ctx, media, params.fileName ?? media.filename ?? undefined);
}

async function thumbnail(hs: Hs, ctx: Context, params: Record<string, string>, query: ThumbnailQuery): Promise<void> {
  const media = await findMedia(hs, params.serverName, params.mediaId, query.timeout_ms);
  const thumb = await thumbnailOf(hs, media, query.width, query.height, query.method, query.animated === 'true');
  const stream = await openThumbnail(hs, thumb);
  if (!stream) throw notFound('Unknown media.');
  const ext = { 'image/jpeg': 'jpg', 'image/webp': 'webp' }[thumb.contentType] ?? 'png';
  send(ctx, { ...servingHeaders(thumb.contentType, `thumbnail.${ext}`, true), 'Content-Length': String(thumb.size) }, stream);
}

const legacyOff = () => notFound('Unauthenticated media downloads are off on this server: use /_matrix/client/v1/media (spec v1.11).');

function config(hs: Hs) {
  return { 'm.upload.size': hs.config.maxUploadBytes };
}

export const mediaRoutes: Route[] = [
  /** POST /_matrix/media/v3/upload */
  route({
    operationId: 'uploadContent', r0: true,
    method: 'POST',
    path: `${MEDIA_V3}/upload`,
    access: 'user',
    query: uploadQuery,
    limits: [{ name: 'media_upload' }],
    streamsBody: true,
    handler: async ({ hs, ctx, requester, query }) => uploadMedia(hs, requester.userId, uploadInput(hs, ctx, query.filename)),
  }),
  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId} */
  route({
    operationId: 'uploadContentToMXC',
    method: 'PUT',
    path: `${MEDIA_V3}/upload/:serverName/:mediaId`,
    access: 'user',
    query: uploadQuery,
    limits: [{ name: 'media_upload' }],
    streamsBody: true,
    handler: async ({ hs, ctx, requester, params, query }) =>
      uploadToCreatedMedia(hs, requester.userId, params.serverName, params.mediaId, uploadInput(hs, ctx, query.filename)),
  }),
  /** POST /_matrix/media/v1/create */
  route({
    operationId: 'createContent',
    method: 'POST',
    path: `${MEDIA_V1}/create`,
    access: 'user',
    body: z.object({}),
    limits: [{ name: 'media_upload' }],
    handler: async ({ hs, requester }) => createMedia(hs, requester.userId),
  }),
  /** GET /_matrix/client/v1/media/config */
  route({ operationId: 'getConfigAuthed', method: 'GET', path: `${CLIENT_MEDIA}/config`, access: 'user', guests: true, handler: async ({ hs }) => config(hs) }),
  /** GET /_matrix/media/v3/config (deprecated in v1.11; authenticated all along) */
  route({ operationId: 'getConfig', r0: true, method: 'GET', path: `${MEDIA_V3}/config`, access: 'user', guests: true, handler: async ({ hs }) => config(hs) }),
  /** GET /_matrix/client/v1/media/download/{serverName}/{mediaId} */
  route({
    operationId: 'getContentAuthed',
    method: 'GET',
    path: `${CLIENT_MEDIA}/download/:serverName/:mediaId`,
    access: 'user',
    guests: true,
    query: downloadQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => download(hs, ctx, params, query),
  }),
  /** GET /_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName} */
  route({
    operationId: 'getContentOverrideNameAuthed',
    method: 'GET',
    path: `${CLIENT_MEDIA}/download/:serverName/:mediaId/:fileName`,
    access: 'user',
    guests: true,
    query: downloadQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => download(hs, ctx, params, query),
  }),
  /** GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId} */
  route({
    operationId: 'getContentThumbnailAuthed',
    method: 'GET',
    path: `${CLIENT_MEDIA}/thumbnail/:serverName/:mediaId`,
    access: 'user',
    guests: true,
    query: thumbnailQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => thumbnail(hs, ctx, params, query),
  }),
  /** GET /_matrix/client/v1/media/preview_url */
  route({
    operationId: 'getUrlPreviewAuthed', method: 'GET', path: `${CLIENT_MEDIA}/preview_url`, access: 'user', guests: true, query: previewQuery, limits: [{ name: 'url_preview' }],
    handler: async ({ hs, requester, query }) => previewUrl(hs, requester.userId, query.url, query.ts),
  }),
  /** GET /_matrix/media/v3/preview_url (deprecated) */
  route({
    operationId: 'getUrlPreview', r0: true, method: 'GET', path: `${MEDIA_V3}/preview_url`, access: 'user', guests: true, query: previewQuery, limits: [{ name: 'url_preview' }],
    handler: async ({ hs, requester, query }) => previewUrl(hs, requester.userId, query.url, query.ts),
  }),
  /** GET /_matrix/media/v3/download/{serverName}/{mediaId} (deprecated, unauthenticated: MEDIA_LEGACY_UNAUTHENTICATED) */
  route({
    operationId: 'getContent', r0: true,
    method: 'GET',
    path: `${MEDIA_V3}/download/:serverName/:mediaId`,
    access: 'none',
    query: downloadQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => {
      if (!hs.config.mediaLegacyUnauthenticated) throw legacyOff();
      await download(hs, ctx, params, query);
    },
  }),
  /** GET /_matrix/media/v3/download/{serverName}/{mediaId}/{fileName} (deprecated, unauthenticated) */
  route({
    operationId: 'getContentOverrideName', r0: true,
    method: 'GET',
    path: `${MEDIA_V3}/download/:serverName/:mediaId/:fileName`,
    access: 'none',
    query: downloadQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => {
      if (!hs.config.mediaLegacyUnauthenticated) throw legacyOff();
      await download(hs, ctx, params, query);
    },
  }),
  /** GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId} (deprecated, unauthenticated) */
  route({
    operationId: 'getContentThumbnail', r0: true,
    method: 'GET',
    path: `${MEDIA_V3}/thumbnail/:serverName/:mediaId`,
    access: 'none',
    query: thumbnailQuery,
    writesResponse: true,
    handler: async ({ hs, ctx, params, query }) => {
      if (!hs.config.mediaLegacyUnauthenticated) throw legacyOff();
      await thumbnail(hs, ctx, params, query);
    },
  }),
];
