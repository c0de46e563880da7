/**
 * The postgres.js write batching that db/write-size.ts relies on, observed on a real connection to PostgreSQL:
 * a buffered write of WRITTEN_AT_ONCE_BYTES or more reaches the socket within the turn that issued it, a smaller one
 * only at setImmediate. Then both uses: a transaction's COMMIT leaves at once, a (prepared) sync snapshot does not.
 * If a postgres.js upgrade changes the threshold or the batching, this fails instead of the server silently slowing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { Socket } from 'node:net';
import { commitPipelined, transaction } from '../../src/db/database.js';
import { snapshotAndAcknowledge } from '../../src/db/sync-snapshot.js';
import { COMMIT_AT_ONCE, WRITTEN_AT_ONCE_BYTES } from '../../src/db/write-size.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

/** Records every socket write while `issue` runs; `early`: the writes made before a setImmediate queued first. */
async function observeWrites(issue: () => Promise<unknown>): Promise<{ early: Buffer[]; all: Buffer[] }> {
  const all: Buffer[] = [];
  const original = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    all.push(Buffer.from(chunk as Buffer));
    return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof Socket.prototype.write;
  try {
    // Queued before the query is issued, so it runs before any setImmediate postgres.js queues for its buffer.
    let early: Buffer[] = [];
    const turnEnded = new Promise<void>((resolve) =>
      setImmediate(() => {
        early = [...all];
        resolve();
      }),
    );
    const done = issue();
    await turnEnded;
    await done;
    return { early, all };
  } finally {
    Socket.prototype.write = original;
  }
}

/** A simple query whose message ('Q', int32 length, text, NUL) is exactly `bytes` long. */
const simpleQueryOfSize = (bytes: number) => `SELECT 1 /* ${'x'.repeat(bytes - 6 - 'SELECT 1 /*  */'.length)} */`;

test(`postgres.js writes a message of ${WRITTEN_AT_ONCE_BYTES} bytes at once, and holds one of a byte less until setImmediate`, async () => {
  const sql = database.db.sql;
  await sql`SELECT 1`; // connected beforehand: only the query itself is written below
  const reserved = await sql.reserve();
  try {
    const atOnce = await observeWrites(() => reserved.unsafe(simpleQueryOfSize(WRITTEN_AT_ONCE_BYTES)).execute());
    expect(atOnce.early.map((b) => b.length)).toEqual([WRITTEN_AT_ONCE_BYTES]);

    const held = await observeWrites(() => reserved.unsafe(simpleQueryOfSize(WRITTEN_AT_ONCE_BYTES - 1)).execute());
    expect(held.early).toEqual([]);
    expect(held.all.map((b) => b.length)).toEqual([WRITTEN_AT_ONCE_BYTES - 1]);
  } finally {
    reserved.release();
  }
});

test("a transaction's COMMIT is written within the turn that issues it", async () => {
  await transaction(database.db.sql, async (tx) => {
    await tx`SELECT 1`;
    const { early } = await observeWrites(() => commitPipelined(tx));
    expect(early.map((b) => b.toString('latin1'))).toEqual([expect.stringContaining(COMMIT_AT_ONCE)]);
  });
});

test("the sync snapshot's messages wait for the turn's other queries (its Bind stays under the threshold)", async () => {
  const reserved = await database.db.sql.reserve();
  try {
    const q = { userId: '@a:x', deviceId: 'D'.repeat(32), since: 123_456_789, toDeviceAck: 987_654_321, toDeviceLimit: 100, timelineFetch: 11, confirmToken: Buffer.alloc(32, 7) };
    await snapshotAndAcknowledge(reserved, q); // prepares the statement (its Parse carries the whole SQL, once)
    const { early, all } = await observeWrites(() => snapshotAndAcknowledge(reserved, q));
    expect(early).toEqual([]);
    expect(all.length).toBe(1);
    expect(all[0].length).toBeLessThan(WRITTEN_AT_ONCE_BYTES);
  } finally {
    reserved.release();
  }
});
