/**
 * Presence over HTTP: PRESENCE=off answers and keeps nothing; PRESENCE=on sets one's own, shows it to room-mates
 * only, delivers m.presence through /sync (set_presence included), across two server processes on one database,
 * and never writes it to the database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startTestServer, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';
import { V3, enc, roomHelpers, type SyncBody } from '../support/rooms.js';
import { scanDatabase } from '../support/db-scan.js';

const statusPath = (userId: string) => `${V3}/presence/${enc(userId)}/status`;
const presenceOf = (body: SyncBody, userId: string) => (body.presence.events as { sender: string; content: Record<string, unknown> }[]).filter((e) => e.sender === userId).map((e) => e.content);

describe('PRESENCE=off (the default)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  test('the endpoints answer, nothing is kept, everyone reads as offline', async () => {
    const rooms = roomHelpers(() => t.http);
    const [alice, bob] = [await registerUser(t), await registerUser(t)];
    const roomId = await rooms.createRoom(alice, { invite: [bob.userId] });
    await rooms.join(bob, roomId);
    const put = await t.http.put(statusPath(alice.userId)).set(alice.auth).send({ presence: 'online', status_msg: 'here' });
    expect([put.status, put.body]).toEqual([200, {}]);
    for (const viewer of [alice, bob]) {
      const res = await t.http.get(statusPath(alice.userId)).set(viewer.auth);
      expect([res.status, res.body]).toEqual([200, { presence: 'offline' }]);
    }
    const s = await rooms.sync(bob);
    expect(s.presence.events).toEqual([]);
    expect(s.next_batch).not.toMatch(/_p/);
    expect(t.hs.presence.position()).toBe(0);
  });
});

describe('PRESENCE=on', () => {
  let t: TestServer;
  let b: SecondServer;
  let alice: TestUser, bob: TestUser, carol: TestUser;
  const onA = roomHelpers(() => t.http);
  const onB = roomHelpers(() => b.http);
  beforeAll(async () => {
    t = await startTestServer({ presence: true });
    b = await startSecondServer(t.database.url, { presence: true });
    [alice, bob, carol] = [await registerUser(t), await registerUser(t), await registerUser(t)];
    const roomId = await onA.createRoom(alice, { invite: [bob.userId] });
    await onA.join(bob, roomId);
  });
  afterAll(async () => {
    await b?.close();
    await t?.close();
  });

  test('PUT: only one\'s own, a known state, a short status message', async () => {
    const other = await t.http.put(statusPath(bob.userId)).set(alice.auth).send({ presence: 'online' });
    expect([other.status, other.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    for (const body of [{}, { presence: 'busy' }, { presence: 'online', status_msg: 7 }, { presence: 'online', status_msg: 'x'.repeat(1001) }]) {
      const res = await t.http.put(statusPath(alice.userId)).set(alice.auth).send(body);
      expect(res.status).toBe(400);
      expectMatrixError(res.body);
    }
    expect((await t.http.put(statusPath(alice.userId)).send({ presence: 'online' })).status).toBe(401);
  });

  test('GET: one\'s own and a room-mate\'s; a stranger (existing or not) 403', async () => {
    const put = await t.http.put(statusPath(alice.userId)).set(alice.auth).send({ presence: 'online', status_msg: 'writing tests' });
    expect(put.status).toBe(200);
    for (const viewer of [alice, bob]) {
      const res = await t.http.get(statusPath(alice.userId)).set(viewer.auth);
      expect(res.status).toBe(200);
      expectValidResponseById('getPresence', 200, res.body);
      expect(res.body).toMatchObject({ presence: 'online', status_msg: 'writing tests', currently_active: true });
      expect(res.body.last_active_ago).toBeLessThan(10_000);
    }
    for (const target of [alice.userId, '@nobody:test.local', '%00']) {
      const res = await t.http.get(statusPath(target)).set(carol.auth);
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    }
    const never = await t.http.get(statusPath(carol.userId)).set(carol.auth);
    expect(never.body).toEqual({ presence: 'offline' });
  });

  test('/sync: room-mates see m.presence, strangers do not; set_presence=offline does not mark online', async () => {
    const bobSync = await onA.sync(bob, { set_presence: 'offline' });
    expect(presenceOf(bobSync, alice.userId)).toEqual([expect.objectContaining({ presence: 'online', status_msg: 'writing tests', currently_active: true })]);
    expect(bobSync.next_batch).toMatch(/_p\d+$/);
    expect((await t.http.get(statusPath(bob.userId)).set(bob.auth)).body).toEqual({ presence: 'offline' });
    const carolSync = await onA.sync(carol);
    expect(presenceOf(carolSync, alice.userId)).toEqual([]);
    // carol's own sync (set_presence online by default) brought her online, and she sees herself
    expect(presenceOf(carolSync, carol.userId)).toEqual([expect.objectContaining({ presence: 'online', currently_active: true })]);
    const filtered = await onA.sync(bob, { filter: JSON.stringify({ presence: { not_types: ['m.presence'] } }) });
    expect(filtered.presence.events).toEqual([]);
  });

  test('a change made on one process wakes a long-poll on the other, which delivers it once', async () => {
    const first = await onB.sync(bob, { set_presence: 'offline' });
    const poll = b.http.get(`${V3}/sync`).query({ since: first.next_batch, timeout: 20_000, set_presence: 'offline' }).set(bob.auth);
    const started = Date.now();
    const answer = poll.then((r) => r);
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.http.put(statusPath(alice.userId)).set(alice.auth).send({ presence: 'unavailable', status_msg: 'away' })).status).toBe(200);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(presenceOf(res.body, alice.userId)).toEqual([expect.objectContaining({ presence: 'unavailable', status_msg: 'away', currently_active: false })]);
    const again = await onB.sync(bob, { since: res.body.next_batch, set_presence: 'offline' });
    expect(presenceOf(again, alice.userId)).toEqual([]);
    const onOther = await b.http.get(statusPath(alice.userId)).set(bob.auth);
    expect(onOther.body).toMatchObject({ presence: 'unavailable', status_msg: 'away' });
  });

  test('a sync on one process brings its user online for the other', async () => {
    const dave = await registerUser(t);
    const roomId = await onA.createRoom(dave, { invite: [bob.userId] });
    await onA.join(bob, roomId);
    const before = await onA.sync(bob, { set_presence: 'offline' });
    await onB.sync(dave);
    const after = await onA.sync(bob, { since: before.next_batch, set_presence: 'offline' });
    expect(presenceOf(after, dave.userId)).toEqual([expect.objectContaining({ presence: 'online', currently_active: true })]);
  });

  test('presence never reaches the database', async () => {
    const marker = `status-${Date.now()}-only-in-memory`;
    expect((await b.http.put(statusPath(alice.userId)).set(alice.auth).send({ presence: 'online', status_msg: marker })).status).toBe(200);
    expect((await t.http.get(statusPath(alice.userId)).set(bob.auth)).body.status_msg).toBe(marker);
    const scan = await scanDatabase(t.hs.sql, [marker]);
    expect(scan.tables).toBeGreaterThan(10);
    expect(scan.found).toEqual([]);
  });
});
