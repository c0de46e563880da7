/**
 * What a process remembers between a device's long-polls (src/relay/sync/poll-memory.ts): the listener kept from
 * the last response and the rooms hint. Nothing may be delayed or lost through them: an event committed between two
 * polls comes at once, an older token is read again, and a room joined through another process is listened to.
 * And the sessions /sync takes from the session cache (Hs.sessions, src/relay/authentication.ts): its snapshot confirms the token,
 * so a token logged out, deleted with its device or expired, or of a deactivated user, is refused, in any process.
 * A room send takes them too, and confirms the token in its transaction before it writes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startTestServer, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import type { Hs } from '../../src/hs.js';
import { enc, roomHelpers, V3, type Agent } from '../support/rooms.js';

/** The room builders over one of the servers. */
const on = (http: Agent) => roomHelpers(() => http);

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const timelineIds = (body: any, roomId: string): string[] => (body.rooms?.join?.[roomId]?.timeline?.events ?? []).map((e: { event_id: string }) => e.event_id);

describe('a device that comes back with its last token', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await registerUser(t);
    bob = await registerUser(t);
    roomId = await on(t.http).createRoom(alice, { preset: 'public_chat' });
    await on(t.http).join(bob, roomId);
  });
  afterAll(() => t.close());

  test('gets an event committed between its two polls at once', async () => {
    const since = (await on(t.http).sync(bob)).next_batch;
    const id = await on(t.http).send(alice, roomId, 'between');
    const started = Date.now();
    const body = await on(t.http).sync(bob, { since, timeout: 20_000 });
    expect(timelineIds(body, roomId)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('waits, then wakes for an event sent while it waits', async () => {
    const since = (await on(t.http).sync(bob)).next_batch;
    const before = t.hs.notifier.waiting();
    const pending = on(t.http).sync(bob, { since, timeout: 20_000 });
    await until('the poll to wait', () => t.hs.notifier.waiting() > before);
    const id = await on(t.http).send(alice, roomId, 'while');
    expect(timelineIds(await pending, roomId)).toEqual([id]);
  });

  test('an older token is read again, not waited on: the event comes again', async () => {
    const first = (await on(t.http).sync(bob)).next_batch;
    const id = await on(t.http).send(alice, roomId, 'again');
    const second = await on(t.http).sync(bob, { since: first, timeout: 20_000 });
    expect(timelineIds(second, roomId)).toEqual([id]);
    // The response was lost in transit: the client retries with the token it had.
    const retried = await on(t.http).sync(bob, { since: first, timeout: 20_000 });
    expect(timelineIds(retried, roomId)).toEqual([id]);
  });

  test('a poll that times out returns an empty answer, and the next poll still wakes', async () => {
    const since = (await on(t.http).sync(bob)).next_batch;
    const empty = await on(t.http).sync(bob, { since, timeout: 200 });
    expect(empty.rooms.join[roomId]).toBeUndefined();
    const before = t.hs.notifier.waiting();
    const pending = on(t.http).sync(bob, { since: empty.next_batch, timeout: 20_000 });
    await until('the poll to wait', () => t.hs.notifier.waiting() > before);
    const id = await on(t.http).send(alice, roomId, 'after-timeout');
    expect(timelineIds(await pending, roomId)).toEqual([id]);
  });

  test('two devices of one user each keep their own listener', async () => {
    const login = await t.http.post(`${V3}/login`).send({ type: 'm.login.password', identifier: { type: 'm.id.user', user: bob.userId }, password: bob.password });
    expect(login.status).toBe(200);
    const bob2: TestUser = { ...bob, deviceId: login.body.device_id, accessToken: login.body.access_token, auth: { Authorization: `Bearer ${login.body.access_token}` } };
    const s1 = (await on(t.http).sync(bob)).next_batch;
    const s2 = (await on(t.http).sync(bob2)).next_batch;
    const id = await on(t.http).send(alice, roomId, 'two-devices');
    const [b1, b2] = await Promise.all([on(t.http).sync(bob, { since: s1, timeout: 20_000 }), on(t.http).sync(bob2, { since: s2, timeout: 20_000 })]);
    expect(timelineIds(b1, roomId)).toEqual([id]);
    expect(timelineIds(b2, roomId)).toEqual([id]);
  });
});

describe('sessions /sync takes from the cache', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ accessTokenLifetimeMs: 1_000 });
  });
  afterAll(() => t.close());

  async function expectRefused(user: TestUser, softLogout: boolean, query: Record<string, string | number> = {}) {
    const res = await t.http.get(`${V3}/sync`).query(query).set(user.auth);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: softLogout });
  }

  test('a token deleted with its device is refused', async () => {
    const dave = await registerUser(t);
    const since = (await on(t.http).sync(dave)).next_batch;
    const first = await t.http.delete(`${V3}/devices/${enc(dave.deviceId)}`).set(dave.auth).send({});
    const del = await t.http
      .delete(`${V3}/devices/${enc(dave.deviceId)}`)
      .set(dave.auth)
      .send({ auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: dave.userId }, password: dave.password, session: first.body.session } });
    expect(del.status).toBe(200);
    await expectRefused(dave, false, { since });
  });

  test("a deactivated user's token is refused", async () => {
    const erin = await registerUser(t);
    const since = (await on(t.http).sync(erin)).next_batch;
    await t.hs.sql`UPDATE users SET deactivated = true WHERE user_id = ${erin.userId}`; // as another process would
    await expectRefused(erin, false, { since, timeout: 1_000 });
  });

  test('an expired token is refused as a soft logout', async () => {
    const frank = await registerUser(t);
    const login = await t.http.post(`${V3}/login`).send({
      type: 'm.login.password', identifier: { type: 'm.id.user', user: frank.userId }, password: frank.password, refresh_token: true,
    });
    expect(login.status).toBe(200);
    const refreshing: TestUser = { ...frank, deviceId: login.body.device_id, accessToken: login.body.access_token, auth: { Authorization: `Bearer ${login.body.access_token}` } };
    const since = (await on(t.http).sync(refreshing)).next_batch; // cached, with its expiry
    await t.hs.sql`UPDATE access_tokens SET expires_ts = ${Date.now() - 1} WHERE user_id = ${frank.userId} AND device_id = ${refreshing.deviceId}`;
    await expectRefused(refreshing, true, { since });
  });
});

describe('two processes on one database', () => {
  // A and B are two homeservers in this jest process with their own pools and notifiers: B learns of A's writes
  // only through PostgreSQL LISTEN/NOTIFY, and B's rooms hint for a user is stale after a join through A.
  let t: TestServer;
  let b: SecondServer;
  let hsB: Hs;
  let httpB: Agent;

  beforeAll(async () => {
    t = await startTestServer();
    b = await startSecondServer(t.database.url);
    ({ hs: hsB, http: httpB } = b);
  });
  afterAll(async () => {
    await b.close();
    await t.close();
  });

  test('a token logged out through A is refused by /sync on B, which had it cached', async () => {
    const carol = await registerUser(t);
    const since = (await on(httpB).sync(carol)).next_batch; // B has resolved and cached carol's session
    expect((await t.http.post(`${V3}/logout`).set(carol.auth).send({})).status).toBe(200);
    for (const query of [{}, { since }, { since, timeout: 5_000 }]) {
      const res = await httpB.get(`${V3}/sync`).query(query).set(carol.auth);
      expect(res.status).toBe(401);
      expect(res.body.errcode).toBe('M_UNKNOWN_TOKEN');
      expect(res.body.soft_logout).toBe(false);
    }
  });

  test('a token logged out through A is refused by a send on B, which had it cached: nothing is written', async () => {
    const dave = await registerUser(t);
    const roomId = await on(t.http).createRoom(dave, { preset: 'public_chat' });
    await on(httpB).sync(dave); // B has resolved and cached dave's session
    await on(httpB).send(dave, roomId, 'before');
    expect((await t.http.post(`${V3}/logout`).set(dave.auth).send({})).status).toBe(200);
    const count = async () => (await t.hs.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE room_id = ${roomId}`)[0].n;
    const before = await count();
    // Also to a room that does not exist: the token is refused first, so the answer says nothing about the room.
    for (const room of [roomId, '!nosuchroom:test.local']) {
      const res = await httpB.put(`${V3}/rooms/${enc(room)}/send/m.room.encrypted/refused`).set(dave.auth).send({ algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgA', session_id: 'S', sender_key: 'K', device_id: 'D' });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false });
    }
    expect(await count()).toBe(before);
  });

  test('a room joined through A: polls on B return the join, then wake for that room', async () => {
    const alice = await registerUser(t);
    const bob = await registerUser(t);
    const first = await on(t.http).createRoom(alice, { preset: 'public_chat' });
    const second = await on(t.http).createRoom(alice, { preset: 'public_chat' });
    await on(t.http).join(bob, first);
    const s0 = (await on(httpB).sync(bob)).next_batch; // B remembers bob's rooms: the first only

    await on(t.http).join(bob, second);
    const joined = await on(httpB).sync(bob, { since: s0, timeout: 20_000 });
    expect(Object.keys(joined.rooms.join)).toContain(second);

    const before = hsB.notifier.waiting();
    const pending = on(httpB).sync(bob, { since: joined.next_batch, timeout: 20_000 });
    await until('the poll on B to wait', () => hsB.notifier.waiting() > before);
    const id = await on(t.http).send(alice, second, 'in-second');
    expect(timelineIds(await pending, second)).toEqual([id]);
  }, 60_000);
});
