/** /sync bundles aggregations: a thread root in a timeline carries its m.thread summary. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { roomHelpers } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser;

beforeAll(async () => ([t, [alice]] = await startWithUsers(['alice'])));
afterAll(() => t.close());

const { createRoom, send, sync } = roomHelpers(() => t.http);

test('a thread root in the sync timeline has its thread summary', async () => {
  const room = await createRoom(alice);
  const root = await send(alice, room, 'root');
  const reply = await send(alice, room, 'reply', { 'm.relates_to': { rel_type: 'm.thread', event_id: root } });
  const events = (await sync(alice)).rooms.join[room].timeline.events;
  const rootEvent = events.find((e: { event_id: string }) => e.event_id === root);
  expect(rootEvent.unsigned['m.relations']['m.thread']).toMatchObject({ count: 1, current_user_participated: true, latest_event: { event_id: reply } });
});
