/**
 * The database statements and round trips one room send costs (issue 18, latency tails): counted, never timed. The
 * common case (PUT /rooms/{roomId}/send/{type}/{txnId} of a Megolm event, to a room whose state this process has
 * cached, by a device whose session it knows, with members to notify) is pinned, so that a change that adds a round
 * trip to every send shows here. The count covers the whole HTTP request (authentication included).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { enc, megolm, nextTxnId, roomHelpers, V3 } from '../support/rooms.js';
import { countStatements, type StatementCounter } from '../support/statements.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;
let counter: StatementCounter;

beforeAll(async () => {
  [t, [alice, bob, carol]] = await startWithUsers(3);
  counter = countStatements(t.hs.sql);
  t.hs.sql = counter.sql;
});
afterAll(() => t.close());

const { createRoom, join, send, sync } = roomHelpers(() => t.http);

test('a send to a room with members to notify: its statements and round trips', async () => {
  const room = await createRoom(alice, { preset: 'public_chat' });
  await join(bob, room);
  await join(carol, room);
  // Warm: the room's state is cached at its head and alice's session is known.
  await send(alice, room, 'warm');
  const txnId = nextTxnId();
  const [res, statements, roundTrips] = await counter.statementsOf(async () =>
    t.http.put(`${V3}/rooms/${enc(room)}/send/m.room.encrypted/${txnId}`).set(alice.auth).send(megolm('counted')),
  );
  expect(res.status).toBe(200);
  // First round trip: BEGIN, the room's lock and behind it the txn id, the members' push settings and the facts of the
  // cached session's token. Second: the room head, the txn row, the event at its position, the notifications and
  // COMMIT, pipelined.
  expect({ roundTrips, statements: statements.length, list: statements }).toEqual({ roundTrips: 2, statements: 10, list: expect.any(Array) });

  // What was counted was written: bob and carol each have one more notification, the retry returns the same id.
  const again = await t.http.put(`${V3}/rooms/${enc(room)}/send/m.room.encrypted/${txnId}`).set(alice.auth).send(megolm('counted'));
  expect(again.body.event_id).toBe(res.body.event_id);
  const bobs = await sync(bob);
  expect(bobs.rooms.join[room].unread_notifications.notification_count).toBe(2);
});
