/**
 * The database statements and round trips of a /sync long-poll that a new room message wakes (issue 18, latency
 * tails): counted, never timed. Every member's long-poll of the room answers the same event, so what one woken
 * sync costs is paid once per member (19 times per event in the bench's rooms), and its round trips lie on the
 * delivery's path. The common case is pinned: a device back with its last token (the kept listener, a cached
 * session), one new message in one room. The message is sent through a second server on the same database, so
 * that only the poll's own statements are counted here.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startSecondServer, startWithUsers, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { roomHelpers, V3, type SyncBody } from '../support/rooms.js';
import { countStatements, type StatementCounter } from '../support/statements.js';

let t: TestServer;
let other: SecondServer;
let alice: TestUser, bob: TestUser;
let counter: StatementCounter;

beforeAll(async () => {
  [t, [alice, bob]] = await startWithUsers(2);
  other = await startSecondServer(t.database.url);
  counter = countStatements(t.hs.sql);
  t.hs.sql = counter.sql;
});
afterAll(async () => {
  await other.close();
  await t.close();
});

const here = roomHelpers(() => t.http);
const there = roomHelpers(() => other.http);

test('a long-poll woken by a new message: one statement in one round trip', async () => {
  const room = await here.createRoom(alice, { preset: 'public_chat' });
  await here.join(bob, room);
  await here.send(alice, room, 'before');
  const first = await here.sync(bob);
  // Settled: the device's listener is kept and its session cached.
  const settled = await here.sync(bob, { since: first.next_batch, timeout: 0 });
  const [body, statements, roundTrips] = await counter.statementsOf(async () => {
    const poll = t.http.get(`${V3}/sync`).query({ since: settled.next_batch, timeout: 30_000 }).set(bob.auth).then((r) => r);
    // The poll parks on its kept listener, with no statement, before the message is sent.
    for (let i = 0; i < 500 && t.hs.notifier.waiting() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.hs.notifier.waiting()).toBe(1);
    await there.send(alice, room, 'woken');
    const res = await poll;
    expect(res.status).toBe(200);
    return res.body as SyncBody;
  });
  expect(body.rooms.join[room].timeline.events.map((e: { sender: string }) => e.sender)).toEqual([alice.userId]);
  // The snapshot (db/sync-snapshot.ts) holds the room's new events, its counts and the user's ignored users.
  expect({ roundTrips, statements }).toEqual({ roundTrips: 1, statements: [expect.objectContaining({ roundTrip: 0 })] });
});
