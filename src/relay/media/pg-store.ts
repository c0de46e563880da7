/**
 * MEDIA_STORE=postgres: blobs as rows of 256 KiB in media_chunks, for several server processes (or machines)
 * without a shared disk. An upload writes its chunks under a staging key; publishing renames them to the sha256
 * inside the metadata's transaction, so a blob is whole or absent. Reads fetch a few chunks at a time, so memory
 * stays flat whatever the blob's size.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sql } from '../../db/database.js';
import { blobChunksExist, deleteChunks, insertChunks, insertStaging, publishStagedChunks, selectChunks, selectStaleStaging } from '../../db/media.js';
import { asBuffer, Meter, type BlobStore, type ByteRange, type StagedBlob } from './blob-store.js';

export const CHUNK_BYTES = 256 * 1024;
/** Chunks fetched per query when reading, and written per statement when uploading (1 MiB). */
const READ_BATCH = 4;
const WRITE_BATCH = 4;

export function createPgBlobStore(sql: Sql): BlobStore {
  return {
    kind: 'postgres',

    async stage(source, limit, overLimit) {
      const key = `staging:${randomUUID()}`;
      await insertStaging(sql, key, Date.now());
      const meter = new Meter(limit, overLimit);
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let seq = 0;
      // Whole chunks are cut from the pieces as they come and written WRITE_BATCH at a time.
      const flush = async (all: boolean) => {
        const chunks: Buffer[] = [];
        while (pendingBytes >= CHUNK_BYTES || (all && pendingBytes > 0)) {
          const joined = Buffer.concat(pending);
          const chunk = joined.subarray(0, CHUNK_BYTES);
          const rest = joined.subarray(chunk.length);
          chunks.push(Buffer.from(chunk));
          pending = rest.length > 0 ? [Buffer.from(rest)] : [];
          pendingBytes = rest.length;
        }
        if (chunks.length > 0) {
          await insertChunks(sql, key, seq, chunks);
          seq += chunks.length;
        }
      };
      try {
        for await (const piece of source) {
          const chunk = asBuffer(piece);
          meter.take(chunk);
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH * CHUNK_BYTES) await flush(false);
        }
        await flush(true);
      } catch (err) {
        await deleteChunks(sql, key).catch(() => {});
        throw err;
      }
      const facts = meter.digest();
      let done = false;
      const staged: StagedBlob = {
        ...facts,
        async publish(tx) {
          await publishStagedChunks(tx, key, facts.sha256);
          done = true;
        },
        async discard() {
          if (done) return;
          done = true;
          await deleteChunks(sql, key).catch(() => {});
        },
      };
      return staged;
    },

    async open(sha256, size, range?: ByteRange) {
      if (size > 0 && !(await blobChunksExist(sql, sha256))) return undefined;
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      let next = Math.floor(start / CHUNK_BYTES);
      const last = Math.floor(Math.max(end, 0) / CHUNK_BYTES);
      let reading = false;
      return new Readable({
        highWaterMark: CHUNK_BYTES,
        read() {
          if (reading) return;
          if (size === 0 || next > last) {
            this.push(null);
            return;
          }
          reading = true;
          selectChunks(sql, sha256, next, Math.min(READ_BATCH, last - next + 1)).then(
            (rows) => {
              reading = false;
              if (rows.length === 0) {
                this.destroy(new Error(`media blob ${sha256} is missing chunk ${next}`));
                return;
              }
              for (const row of rows) {
                const offset = row.seq * CHUNK_BYTES;
                const from = Math.max(0, start - offset);
                const to = Math.min(row.data.length, end - offset + 1);
                next = row.seq + 1;
                this.push(row.data.subarray(from, to));
              }
              if (next > last) this.push(null);
            },
            (err: Error) => this.destroy(err),
          );
        },
      });
    },

    async remove(tx, sha256) {
      await deleteChunks(tx, sha256);
    },

    async sweep(olderThanMs) {
      const keys = await selectStaleStaging(sql, Date.now() - olderThanMs);
      for (const key of keys) await deleteChunks(sql, key);
      return keys.length;
    },
  };
}
