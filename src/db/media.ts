/**
 * The media repository's SQL: the metadata of each media id (who, how big, which blob, when last read), the
 * thumbnails made of it, and, for MEDIA_STORE=postgres, the blobs themselves in chunks (media_chunks).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { onOwnConnection, transaction, type Db, type Sql } from './database.js';

export interface MediaRow {
  mediaId: string;
  userId: string;
  state: 'pending' | 'complete';
  contentType: string | null;
  filename: string | null;
  size: number | null;
  sha256: string | null;
  createdTs: number;
  lastAccessTs: number;
  unusedExpiresTs: number | null;
}

export interface BlobFacts {
  contentType: string;
  filename: string | null;
  size: number;
  sha256: string;
}

export async function selectMedia(db: Db, mediaId: string): Promise<MediaRow | undefined> {
  const [row] = await db<MediaRow[]>`SELECT * FROM media WHERE media_id = ${mediaId}`;
  return row;
}

export async function insertCompleteMedia(db: Db, mediaId: string, userId: string, blob: BlobFacts, now: number): Promise<void> {
  await db`
    INSERT INTO media (media_id, user_id, state, content_type, filename, size, sha256, created_ts, last_access_ts)
    VALUES (${mediaId}, ${userId}, 'complete', ${blob.contentType}, ${blob.filename}, ${blob.size}, ${blob.sha256}, ${now}, ${now})`;
}

export async function insertPendingMedia(db: Db, mediaId: string, userId: string, now: number, unusedExpiresTs: number): Promise<void> {
  await db`
    INSERT INTO media (media_id, user_id, state, created_ts, last_access_ts, unused_expires_ts)
    VALUES (${mediaId}, ${userId}, 'pending', ${now}, ${now}, ${unusedExpiresTs})`;
}

/** Media ids the user created and has not uploaded yet, not expired. */
export async function countPendingMedia(db: Db, userId: string, now: number): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM media WHERE user_id = ${userId} AND state = 'pending' AND unused_expires_ts > ${now}`;
  return row.n;
}

/** Gives a pending media id its content; false when it is no longer pending. */
export async function completePendingMedia(db: Db, mediaId: string, blob: BlobFacts, now: number): Promise<boolean> {
  const rows = await db`
    UPDATE media SET state = 'complete', content_type = ${blob.contentType}, filename = ${blob.filename}, size = ${blob.size},
      sha256 = ${blob.sha256}, last_access_ts = ${now}, unused_expires_ts = NULL
    WHERE media_id = ${mediaId} AND state = 'pending' RETURNING 1`;
  return rows.length === 1;
}

/** Bytes of media the user keeps (thumbnails are the server's, not counted). */
export async function selectUsedBytes(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ used: number }[]>`SELECT coalesce(sum(size), 0)::bigint AS used FROM media WHERE user_id = ${userId}`;
  return row.used;
}

/** Records a download, at most once per `granularityMs` per media id (a write per read would be wasteful). */
export async function touchMedia(db: Db, mediaId: string, now: number, granularityMs: number): Promise<void> {
  await db`UPDATE media SET last_access_ts = ${now} WHERE media_id = ${mediaId} AND last_access_ts < ${now - granularityMs}`;
}

/**
 * Serializes everything that publishes or deletes one blob (by its sha256), across processes, until the transaction
 * ends: an upload of equal bytes cannot slip between a deletion's "nobody refers to it" and its removal.
 */
export async function lockBlob(db: Db, sha256: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtextextended(${'media-blob:' + sha256}, 0))`;
}

/** Serializes one user's uploads for the quota check, until the transaction ends. */
export async function lockUserMedia(db: Db, userId: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtextextended(${'media-user:' + userId}, 0))`;
}

/** Whether a media row or a thumbnail still refers to the blob. */
export async function isBlobReferenced(db: Db, sha256: string): Promise<boolean> {
  const [row] = await db<{ used: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = ${sha256}) OR EXISTS (SELECT 1 FROM media_thumbnails WHERE sha256 = ${sha256}) AS used`;
  return row.used;
}

/** Deletes media rows (and their thumbnails); returns the blobs they referred to. */
export async function deleteMediaRows(db: Db, mediaIds: string[]): Promise<string[]> {
  if (mediaIds.length === 0) return [];
  const thumbs = await db<{ sha256: string }[]>`DELETE FROM media_thumbnails WHERE media_id = ANY(${mediaIds}) RETURNING sha256`;
  const rows = await db<{ sha256: string | null }[]>`DELETE FROM media WHERE media_id = ANY(${mediaIds}) RETURNING sha256`;
  const blobs = new Set<string>();
  for (const r of [...thumbs, ...rows]) if (r.sha256 !== null) blobs.add(r.sha256);
  return [...blobs];
}

export async function selectMediaIdsOfUser(db: Db, userId: string): Promise<string[]> {
  const rows = await db<{ mediaId: string }[]>`SELECT media_id FROM media WHERE user_id = ${userId} ORDER BY created_ts`;
  return rows.map((r) => r.mediaId);
}

/** Media not downloaded since `before`, and created media ids whose upload never came before they expired. */
export async function selectExpiredMediaIds(db: Db, lastAccessBefore: number | undefined, now: number, limit: number): Promise<string[]> {
  const rows = await db<{ mediaId: string }[]>`
    SELECT media_id FROM media
    WHERE (state = 'pending' AND unused_expires_ts <= ${now})
       OR (${lastAccessBefore ?? null}::bigint IS NOT NULL AND state = 'complete' AND last_access_ts < ${lastAccessBefore ?? null}::bigint)
    LIMIT ${limit}`;
  return rows.map((r) => r.mediaId);
}

export interface ThumbnailRow {
  mediaId: string;
  width: number;
  height: number;
  method: 'crop' | 'scale';
  /** An animated thumbnail (animated=true of an animated source), kept apart from the still one. */
  animated: boolean;
  contentType: string;
  size: number;
  sha256: string;
}

export async function selectThumbnail(db: Db, mediaId: string, width: number, height: number, method: string, animated: boolean): Promise<ThumbnailRow | undefined> {
  const [row] = await db<ThumbnailRow[]>`
    SELECT * FROM media_thumbnails
    WHERE media_id = ${mediaId} AND width = ${width} AND height = ${height} AND method = ${method} AND animated = ${animated}`;
  return row;
}

/** Stores a thumbnail; false when the media id is gone or another request stored the same one first. */
export async function insertThumbnail(db: Db, t: ThumbnailRow): Promise<boolean> {
  const rows = await db`
    INSERT INTO media_thumbnails (media_id, width, height, method, animated, content_type, size, sha256)
    SELECT ${t.mediaId}, ${t.width}, ${t.height}, ${t.method}, ${t.animated}, ${t.contentType}, ${t.size}, ${t.sha256}
    WHERE EXISTS (SELECT 1 FROM media WHERE media_id = ${t.mediaId})
    ON CONFLICT DO NOTHING RETURNING 1`;
  return rows.length === 1;
}

// MEDIA_STORE=postgres: blobs in chunks.

export async function insertStaging(db: Db, blobKey: string, now: number): Promise<void> {
  await db`INSERT INTO media_staging (blob_key, created_ts) VALUES (${blobKey}, ${now})`;
}

/*
 * Chunks travel in COPY's binary format (PostgreSQL docs, "COPY", "Binary Format"): postgres.js sends a bytea
 * parameter as hex text and parses a bytea result from hex text (twice the bytes on the wire, plus a UTF-8 decode
 * and a hex decode of each value), which made this store an order of magnitude slower than the file system. COPY
 * binary moves the bytes as they are, and needs no parameters: the only values spliced into a COPY statement are a
 * blob key checked against BLOB_KEY and integers.
 */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER = Buffer.concat([COPY_SIGNATURE, Buffer.alloc(8)]); // flags 0, no header extension
const COPY_TRAILER = Buffer.from([0xff, 0xff]);
/** A blob key: a sha256, or a staging key of pg-store.ts. */
const BLOB_KEY = /^(?:[0-9a-f]{64}|staging:[0-9a-f-]{36})$/;

function copyRowPrefix(blobKey: Buffer, seq: number, dataLength: number): Buffer {
  const prefix = Buffer.alloc(2 + 4 + blobKey.length + 4 + 4 + 4);
  let at = prefix.writeInt16BE(3, 0);
  at = prefix.writeInt32BE(blobKey.length, at);
  at += blobKey.copy(prefix, at);
  at = prefix.writeInt32BE(4, at);
  at = prefix.writeInt32BE(seq, at);
  prefix.writeInt32BE(dataLength, at);
  return prefix;
}

/**
 * Writes staged chunks, all in one COPY. Without waiting for the WAL flush (synchronous_commit off): staged chunks
 * matter only once published, and the publishing transaction's own flush covers every WAL record before it.
 */
export async function insertChunks(sql: Sql, blobKey: string, firstSeq: number, chunks: Buffer[]): Promise<void> {
  const key = Buffer.from(blobKey);
  const parts: Buffer[] = [COPY_HEADER];
  chunks.forEach((data, i) => parts.push(copyRowPrefix(key, firstSeq + i, data.length), data));
  parts.push(COPY_TRAILER);
  await transaction(sql, async (tx) => {
    await tx`SET LOCAL synchronous_commit = off`;
    const copy = await tx`COPY media_chunks (blob_key, seq, data) FROM STDIN (FORMAT binary)`.writable();
    await pipeline(Readable.from(parts), copy);
  });
}

/**
 * Chunks `fromSeq` to `fromSeq + count - 1` of a blob, in order, by one COPY in binary, on a connection of its own
 * (onOwnConnection: a pooled query pipelined behind a COPY in progress would fail).
 */
export async function selectChunks(sql: Sql, blobKey: string, fromSeq: number, count: number): Promise<{ seq: number; data: Buffer }[]> {
  if (!BLOB_KEY.test(blobKey) || !Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(count)) throw new Error('not a blob key or chunk range');
  const copied = await onOwnConnection(sql, async (tx) => {
    const out = await tx
      .unsafe(`COPY (SELECT seq, data FROM media_chunks WHERE blob_key = '${blobKey}' AND seq >= ${fromSeq} AND seq < ${fromSeq + count} ORDER BY seq) TO STDOUT (FORMAT binary)`)
      .readable();
    // postgres.js 3.4 pauses the connection's socket when a row fills the stream's buffer and resumes it only from the
    // stream's read(). A small COPY arrives whole before the stream is handed over: the socket is paused, the stream
    // has ended, and read() is never called again, so the connection would hang on its next query. Calling read()
    // (postgres.js's is `socket.resume()`) once the stream has ended resumes it.
    const parts: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      out.on('data', (part: Buffer) => parts.push(part));
      out.once('end', () => {
        (out as unknown as { _read(size: number): void })._read(0);
        resolve();
      });
      out.once('error', reject);
    });
    return Buffer.concat(parts);
  });
  return parseCopiedChunks(copied);
}

/** The rows of a binary COPY of (seq int, data bytea). */
function parseCopiedChunks(buf: Buffer): { seq: number; data: Buffer }[] {
  if (buf.length < COPY_HEADER.length || !buf.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) throw new Error('not a binary COPY');
  let at = COPY_SIGNATURE.length + 4;
  at += 4 + buf.readInt32BE(at);
  const rows: { seq: number; data: Buffer }[] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) return rows;
    if (fields !== 2 || buf.readInt32BE(at) !== 4) throw new Error('unexpected COPY row');
    const seq = buf.readInt32BE(at + 4);
    const length = buf.readInt32BE(at + 8);
    at += 12;
    rows.push({ seq, data: buf.subarray(at, at + length) });
    at += length;
  }
}

export async function blobChunksExist(db: Db, blobKey: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`SELECT EXISTS (SELECT 1 FROM media_chunks WHERE blob_key = ${blobKey}) AS found`;
  return row.found;
}

/** Makes staged chunks the blob `sha256` (or drops them when that blob is already stored), and ends the staging. */
export async function publishStagedChunks(db: Db, stagingKey: string, sha256: string): Promise<void> {
  if (await blobChunksExist(db, sha256)) await db`DELETE FROM media_chunks WHERE blob_key = ${stagingKey}`;
  else await db`UPDATE media_chunks SET blob_key = ${sha256} WHERE blob_key = ${stagingKey}`;
  await db`DELETE FROM media_staging WHERE blob_key = ${stagingKey}`;
}

export async function deleteChunks(db: Db, blobKey: string): Promise<void> {
  await db`DELETE FROM media_chunks WHERE blob_key = ${blobKey}`;
  await db`DELETE FROM media_staging WHERE blob_key = ${blobKey}`;
}

export async function selectStaleStaging(db: Db, before: number): Promise<string[]> {
  const rows = await db<{ blobKey: string }[]>`SELECT blob_key FROM media_staging WHERE created_ts < ${before}`;
  return rows.map((r) => r.blobKey);
}
