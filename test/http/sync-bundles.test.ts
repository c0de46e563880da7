/** /sync bundles aggregations: a thread root in a timeline carries its m.thread summary. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';

const V3 = '/_matrix/client/v3';
let t: TestServer;
let alice: TestUser;
const megolm = (extra: Record<string, unknown> = {}) => ({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'CT', session_id: 'S', ...extra });

beforeAll(async () => {
  t = await startTestServer();
  alice = await registerUser(t, 'alice');
});
afterAll(() => t.close());

test('a thread root in the sync timeline has its thread summary', async () => {
  const room = (await t.http.post(`${V3}/createRoom`).set(alice.auth).send({})).body.room_id;
  const send = (txn: string, body: unknown) => t.http.put(`${V3}/rooms/${encodeURIComponent(room)}/send/m.room.encrypted/${txn}`).set(alice.auth).send(body as object);
  const root = (await send('root', megolm())).body.event_id;
  const reply = (await send('reply', megolm({ 'm.relates_to': { rel_type: 'm.thread', event_id: root } }))).body.event_id;
  const res = await t.http.get(`${V3}/sync`).set(alice.auth);
  const events = res.body.rooms.join[room].timeline.events;
  const rootEvent = events.find((e: { event_id: string }) => e.event_id === root);
  expect(rootEvent.unsigned['m.relations']['m.thread']).toMatchObject({ count: 1, current_user_participated: true, latest_event: { event_id: reply } });
});
