/**
 * MEDIA_STORE=postgres: blobs as rows of 256 KiB in media_chunks, for several server processes (or machines)
 * without a shared disk. An upload writes its chunks under a staging key; publishing renames them to the sha256
 * inside the metadata's transaction, so a blob is whole or absent. Chunks are written and read by COPY in binary
 * (db/media.ts), 16 at a time (4 MiB); an upload's batch is written while the next is received, a download's next
 * batch fetched while the last one is sent. Memory stays flat whatever the blob's size (two batches per transfer),
 * and no connection is held between batches (a slow client holds none).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sql } from '../../db/database.js';
import { deleteChunks, insertChunks, insertStaging, publishStagedChunks, selectChunks, selectStaleStaging } from '../../db/media.js';
import { asBuffer, Meter, type BlobStore, type ByteRange, type StagedBlob } from './blob-store.js';

export const CHUNK_BYTES = 256 * 1024;
/** Chunks fetched per query when reading, and written per statement when uploading (4 MiB). */
const READ_BATCH = 16;
const WRITE_BATCH = 16;

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
      let writing: Promise<void> = Promise.resolve();
      // Whole chunks are cut from the pieces as they come and written WRITE_BATCH at a time.
      const flush = async (all: boolean) => {
        if (pendingBytes === 0 || (!all && pendingBytes < CHUNK_BYTES)) return;
        const joined = Buffer.concat(pending, pendingBytes);
        const whole = all ? joined.length : joined.length - (joined.length % CHUNK_BYTES);
        const chunks: Buffer[] = [];
        for (let at = 0; at < whole; at += CHUNK_BYTES) chunks.push(joined.subarray(at, Math.min(at + CHUNK_BYTES, whole)));
        const rest = joined.subarray(whole);
        pending = rest.length > 0 ? [Buffer.from(rest)] : [];
        pendingBytes = rest.length;
        // One batch is written while the next is received: wait for the previous write, then start this one.
        await writing;
        writing = insertChunks(sql, key, seq, chunks);
        writing.catch(() => {}); // awaited (and its error thrown) by the next flush or at the end
        seq += chunks.length;
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
        await writing;
      } catch (err) {
        await writing.catch(() => {});
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
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      const first = Math.floor(start / CHUNK_BYTES);
      const last = Math.floor(Math.max(end, 0) / CHUNK_BYTES);
      const fetchBatch = (from: number) => selectChunks(sql, sha256, from, Math.min(READ_BATCH, last - from + 1));
      // The first batch is read before answering: a blob missing from the store is undefined (404), not a broken stream.
      let batch: Promise<{ seq: number; data: Buffer }[]> | undefined = size === 0 ? undefined : fetchBatch(first);
      if (batch && (await batch).length === 0) return undefined;
      let next = first;
      let reading = false;
      return new Readable({
        highWaterMark: READ_BATCH * CHUNK_BYTES,
        read() {
          if (reading) return;
          if (!batch) {
            this.push(null);
            return;
          }
          reading = true;
          batch.then(
            (rows) => {
              reading = false;
              if (rows.length === 0 || rows[0].seq !== next) {
                this.destroy(new Error(`media blob ${sha256} is missing chunk ${next}`));
                return;
              }
              next = rows[rows.length - 1].seq + 1;
              // The next batch is on its way while this one is sent.
              batch = next > last ? undefined : fetchBatch(next);
              batch?.catch(() => {}); // its error is reported when it is awaited
              for (const row of rows) {
                const offset = row.seq * CHUNK_BYTES;
                this.push(row.data.subarray(Math.max(0, start - offset), Math.min(row.data.length, end - offset + 1)));
              }
              if (!batch) this.push(null);
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
