/**
 * MEDIA_STORE=fs: blobs as files under DATA_DIR/media/blobs/ab/cd/<sha256>. An upload is written to
 * DATA_DIR/media/tmp/<random> and fsynced; publishing renames it into place and fsyncs the directory, so after a
 * crash a blob is either whole under its name or not there at all (leftover temp files are swept).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { asBuffer, isSha256Hex, Meter, type BlobStore, type ByteRange, type StagedBlob } from './blob-store.js';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function createFsBlobStore(root: string): BlobStore {
  const tmpDir = path.join(root, 'tmp');
  const blobDir = path.join(root, 'blobs');
  const blobPath = (sha256: string) => {
    if (!isSha256Hex(sha256)) throw new Error('not a sha256');
    return path.join(blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  };

  return {
    kind: 'fs',

    async stage(source, limit, overLimit) {
      await mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, randomUUID());
      const fh = await open(tmp, 'wx', 0o600);
      const meter = new Meter(limit, overLimit);
      let closed = false;
      try {
        for await (const piece of source) {
          const chunk = asBuffer(piece);
          meter.take(chunk);
          await fh.write(chunk);
        }
        await fh.sync();
        await fh.close();
        closed = true;
      } catch (err) {
        if (!closed) await fh.close().catch(() => {});
        await unlink(tmp).catch(() => {});
        throw err;
      }
      const facts = meter.digest();
      let gone = false;
      const staged: StagedBlob = {
        ...facts,
        async publish() {
          const target = blobPath(facts.sha256);
          await mkdir(path.dirname(target), { recursive: true });
          await rename(tmp, target);
          gone = true;
          await fsyncDir(path.dirname(target));
        },
        async discard() {
          if (gone) return;
          gone = true;
          await unlink(tmp).catch(() => {});
        },
      };
      return staged;
    },

    async open(sha256, size, range?: ByteRange): Promise<Readable | undefined> {
      let fh;
      try {
        fh = await open(blobPath(sha256), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      if (size === 0) {
        await fh.close();
        return Readable.from([]);
      }
      return fh.createReadStream(range ? { start: range.start, end: range.end } : {});
    },

    async remove(_tx, sha256) {
      await unlink(blobPath(sha256)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },

    async sweep(olderThanMs) {
      let names: string[];
      try {
        names = await readdir(tmpDir);
      } catch {
        return 0;
      }
      let removed = 0;
      const before = Date.now() - olderThanMs;
      for (const name of names) {
        const file = path.join(tmpDir, name);
        const st = await stat(file).catch(() => undefined);
        if (st && st.mtimeMs < before) {
          await rm(file, { force: true });
          removed++;
        }
      }
      return removed;
    },
  };
}
