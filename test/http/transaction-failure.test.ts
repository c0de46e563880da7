/**
 * A failed transaction never leaves its connection inside an aborted transaction, also when its COMMIT was pipelined
 * behind the statement that failed (PostgreSQL discards what follows a failed statement up to the next Sync); and a
 * read receipt racing a send in the same room is no deadlock (the room lock is NO KEY UPDATE: the receipt's foreign
 * key check takes KEY SHARE on the room while its writer holds the stream head).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { commitPipelined, transaction } from '../../src/db/database.js';

let t: TestServer;
beforeAll(async () => (t = await startTestServer()));
afterAll(() => t.close());
const { createRoom, join, send } = roomHelpers(() => t.http);

/** Every connection of the pool answers a plain query, and none sits inside a transaction (aborted or not). */
async function everyConnectionClean(): Promise<void> {
  await Promise.all(Array.from({ length: 20 }, () => t.hs.sql`SELECT 1`));
  const [{ stuck }] = await t.hs.sql<{ stuck: number }[]>`
    SELECT count(*)::int AS stuck FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`;
  expect(stuck).toBe(0);
}

test('a statement failing ahead of a pipelined COMMIT: the transaction fails and its connection comes back clean', async () => {
  for (let i = 0; i < 5; i++) {
    await expect(
      transaction(t.hs.sql, async (tx) => {
        const failing = tx`SELECT 1 / 0`.execute();
        const committed = commitPipelined(tx);
        await Promise.all([failing, committed]);
      }),
    ).rejects.toThrow();
    await everyConnectionClean();
  }
});

test('first read receipts of many members racing sends in the same room: all answered, none a 500', async () => {
  const alice = await registerUser(t);
  const members: TestUser[] = [];
  for (let i = 0; i < 8; i++) members.push(await registerUser(t));
  for (let round = 0; round < 4; round++) {
    const roomId = await createRoom(alice, { preset: 'public_chat' });
    for (const m of members) await join(m, roomId);
    const first = await send(alice, roomId, round);
    const statuses = await Promise.all([
      ...members.map(async (m) => (await t.http.post(`${V3}/rooms/${enc(roomId)}/receipt/m.read/${enc(first)}`).set(m.auth).send({})).status),
      ...members.map(async (_, i) => (await send(alice, roomId, round * 100 + i)) && 200),
    ]);
    expect(statuses.every((s) => s === 200)).toBe(true);
  }
  await everyConnectionClean();
}, 120_000);
