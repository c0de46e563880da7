/**
 * Sliding sync at account scale: a user in 1,000 rooms gets the first page of a 20-room window quickly, and an
 * incremental response with one new message costs about the same as for a user in 10 rooms (the work follows what
 * changed, not the account). What is checked here is the answer (the window, its count, and an incremental response
 * that holds only the room that changed); the timings are printed for the eye only: speed is measured by the benchmark
 * (`npm run bench -- --room-list 10,1000`), never asserted by a timed test on a machine whose load is unknown.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { roomHelpers } from '../support/rooms.js';
import { loadavg } from 'node:os';

const PATH = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
let t: TestServer;
beforeAll(async () => (t = await startTestServer()));
afterAll(() => t.close());
const { createRoom, send } = roomHelpers(() => t.http);

async function userInRooms(n: number): Promise<[TestUser, string[]]> {
  const u = await registerUser(t);
  const rooms: string[] = [];
  const queue = Array.from({ length: n }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 1 }, async () => {
      while (queue.length > 0) {
        queue.pop();
        rooms.push(await createRoom(u, {}));
      }
    }),
  );
  return [u, rooms];
}

const body = { lists: { all: { ranges: [[0, 19]], timeline_limit: 1, required_state: [['m.room.name', ''], ['m.room.avatar', ''], ['m.room.member', '$LAZY'], ['m.room.encryption', '']] } } };

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const v = await f();
  return [v, Number(process.hrtime.bigint() - start) / 1e6];
}

async function measure(u: TestUser, room: string, rooms: number, runs: number): Promise<{ first: number; incremental: number }> {
  const firsts: number[] = [];
  const incrementals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [res, first] = await timed(() => t.http.post(PATH).set(u.auth).send(body));
    expect(res.status).toBe(200);
    expect(res.body.lists.all.count).toBe(rooms);
    expect(Object.keys(res.body.rooms)).toHaveLength(Math.min(20, rooms));
    firsts.push(first);
    await send(u, room, `m${i}`);
    const [inc, incremental] = await timed(() => t.http.post(PATH).query({ pos: res.body.pos }).set(u.auth).send(body));
    expect(Object.keys(inc.body.rooms)).toEqual([room]);
    incrementals.push(incremental);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { first: median(firsts), incremental: median(incrementals) };
}

describe('scale', () => {
  test('1,000 rooms: first window page and one-message incremental, against 10 rooms', async () => {
    const [small, smallRooms] = await userInRooms(10);
    const [big, bigRooms] = await userInRooms(1000);
    const s = await measure(small, smallRooms[0], 10, 3);
    const b = await measure(big, bigRooms[0], 1000, 3);
    // eslint-disable-next-line no-console
    console.log(`sliding sync (load ${loadavg().map((l) => l.toFixed(1)).join(' ')}): 10 rooms first ${s.first.toFixed(1)} ms, incremental ${s.incremental.toFixed(1)} ms; 1000 rooms first ${b.first.toFixed(1)} ms, incremental ${b.incremental.toFixed(1)} ms`);
  }, 600_000);
});
