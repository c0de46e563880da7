/**
 * The blob store: where media bytes live, addressed by their SHA-256 (equal bytes are stored once). Two
 * implementations, chosen by MEDIA_STORE: files under DATA_DIR/media (fs-store.ts) and chunks in PostgreSQL
 * (pg-store.ts). An upload is first staged (streamed aside while hashed, with a hard size limit, never held whole
 * in memory), then published inside the transaction that records its metadata, under the blob's lock
 * (db/media.ts lockBlob), so a deletion of equal bytes cannot interleave. An S3-compatible store would be a third
 * implementation of this interface (docs/media.md).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Tx } from '../../db/database.js';
import { tooLarge } from '../../errors.js';

/** How many leading bytes a staged blob keeps for sniffing (file-type reads at most this many). */
export const HEAD_BYTES = 4100;

/** Bytes written aside, not yet visible under their address. */
export interface StagedBlob {
  sha256: string;
  size: number;
  /** The first HEAD_BYTES bytes (fewer for a smaller blob): for the MEDIA_PLAINTEXT check. */
  head: Buffer;
  /** Makes the blob readable under its sha256; runs inside the metadata's transaction, holding lockBlob. */
  publish(tx: Tx): Promise<void>;
  /** Forgets the staged bytes (refused upload). Idempotent. */
  discard(): Promise<void>;
}

/** An inclusive byte range of a blob. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  readonly kind: 'fs' | 'postgres';
  /**
   * Streams `source` aside, hashing it as it goes. Past `limit` bytes it stops reading, removes what it wrote and
   * throws `overLimit()` (413 M_TOO_LARGE by default). A source that fails (a dropped connection) leaves nothing.
   */
  stage(source: AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer>, limit: number, overLimit?: () => Error): Promise<StagedBlob>;
  /** The blob's bytes (`size` from its metadata), or a range of them; undefined when the blob is missing. */
  open(sha256: string, size: number, range?: ByteRange): Promise<Readable | undefined>;
  /** Removes a blob; runs inside the deleting transaction, holding lockBlob, once nothing refers to it. */
  remove(tx: Tx, sha256: string): Promise<void>;
  /** Removes what uploads cut short (a crash) left behind, older than `olderThanMs`. */
  sweep(olderThanMs: number): Promise<number>;
}

/** Counts and hashes a stream's bytes, keeping its head; throws once past the limit. */
export class Meter {
  private readonly hash: Hash = createHash('sha256');
  private readonly headParts: Buffer[] = [];
  private headLength = 0;
  size = 0;

  constructor(
    private readonly limit: number,
    private readonly overLimit: () => Error = () => tooLarge(`The upload is larger than ${limit} bytes.`),
  ) {}

  /** Takes the next piece; throws when the total passes the limit. */
  take(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) throw this.overLimit();
    this.hash.update(chunk);
    if (this.headLength < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.headLength);
      this.headParts.push(Buffer.from(part));
      this.headLength += part.length;
    }
  }

  digest(): { sha256: string; size: number; head: Buffer } {
    return { sha256: this.hash.digest('hex'), size: this.size, head: Buffer.concat(this.headParts) };
  }
}

export const isSha256Hex = (s: string) => /^[0-9a-f]{64}$/.test(s);

export function asBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
