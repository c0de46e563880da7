/**
 * GET /metrics: off by default (404, nothing counted); behind METRICS_TOKEN on the main listener; on a listener of its
 * own with METRICS_PORT (and then not on the main one). A scrape parses as the Prometheus text format, a route's counter
 * moves by the requests made, long-polls, wakes, the pool, the stream and the to-device queue show, and no user id,
 * room id, device id, event id or token appears anywhere in it (routes are templates, never raw paths).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Config } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { TEST_POOL_SIZE, createTestDatabase, type TestDatabase } from '../support/db.js';
import { freePort } from '../support/ports.js';
import { parseExposition, type Exposition } from '../support/prometheus.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';
import { registerUser, startTestServer, startWithUsers, testConfig, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError } from '../support/spec.js';

const TOKEN = 'metrics-token-for-tests-0123456789';
const SEND_ROUTE = { method: 'PUT', route: '/_matrix/client/v3/rooms/:roomId/send/:eventType/:txnId', status: '200' };

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('metrics off (the default)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  test('nothing is counted and /metrics is unknown, with or without a token', async () => {
    expect(t.hs.metrics).toBeUndefined();
    for (const auth of [undefined, `Bearer ${TOKEN}`]) {
      const req = t.http.get('/metrics');
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect(res.status).toBe(404);
      expectMatrixError(res.body, 'M_UNRECOGNIZED');
    }
  });
});

describe('metrics behind METRICS_TOKEN on the main listener', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  const rooms = roomHelpers(() => t.http);
  const scrape = async (): Promise<Exposition> => {
    const res = await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(res.text);
  };

  beforeAll(async () => {
    [t, [alice, bob]] = await startWithUsers(2, { metricsToken: TOKEN });
    roomId = await rooms.createRoom(alice, { preset: 'public_chat' });
    await rooms.join(bob, roomId);
  });
  afterAll(() => t?.close());

  test('without the token: 401 M_MISSING_TOKEN; with another: 401 M_UNKNOWN_TOKEN; a user access token is not it', async () => {
    const none = await t.http.get('/metrics');
    expect(none.status).toBe(401);
    expectMatrixError(none.body, 'M_MISSING_TOKEN');
    for (const token of [`${TOKEN}x`, alice.accessToken]) {
      const wrong = await t.http.get('/metrics').set('Authorization', `Bearer ${token}`);
      expect(wrong.status).toBe(401);
      expectMatrixError(wrong.body, 'M_UNKNOWN_TOKEN');
      expect(wrong.text).not.toContain('securecomm_');
    }
  });

  test("a route's request counter and latency histogram move by the requests made, by route template and status", async () => {
    const before = await scrape();
    const sent = before.value('securecomm_http_requests_total', SEND_ROUTE) ?? 0;
    for (let i = 0; i < 3; i++) await rooms.send(alice, roomId, i);
    const refused = await t.http.put(`${V3}/rooms/${enc(roomId)}/send/m.room.message/refused1`).set(alice.auth).send({ msgtype: 'm.text', body: 'plaintext' });
    expect(refused.status).toBe(403);
    const after = await scrape();
    expect(after.value('securecomm_http_requests_total', SEND_ROUTE)).toBe(sent + 3);
    expect(after.value('securecomm_http_requests_total', { ...SEND_ROUTE, status: '403' })).toBeGreaterThanOrEqual(1);
    expect(after.types.get('securecomm_http_request_duration_seconds')).toBe('histogram');
    const count = after.value('securecomm_http_request_duration_seconds_count', SEND_ROUTE);
    expect(count).toBe(sent + 3);
    expect(after.value('securecomm_http_request_duration_seconds_bucket', { ...SEND_ROUTE, le: '+Inf' })).toBe(count);
    expect(after.value('securecomm_http_request_duration_seconds_sum', SEND_ROUTE)).toBeGreaterThan(0);
  });

  test('a long-poll shows while it waits, and the send that wakes it counts a wake', async () => {
    const since = (await rooms.sync(bob)).next_batch;
    const before = await scrape();
    const poll = rooms.sync(bob, { since, timeout: 20_000 });
    await until('the long-poll to show', async () => ((await scrape()).value('securecomm_sync_long_polls') ?? 0) >= 1);
    await rooms.send(alice, roomId, 'wake');
    const woke = await poll;
    expect(woke.rooms.join[roomId]).toBeDefined();
    const after = await scrape();
    expect(after.value('securecomm_sync_long_polls')).toBe(0);
    expect(after.value('securecomm_wake_keys_total', { source: 'local' })!).toBeGreaterThan(before.value('securecomm_wake_keys_total', { source: 'local' })!);
    expect(after.value('securecomm_listener_wakes_total')!).toBeGreaterThan(before.value('securecomm_listener_wakes_total')!);
    expect(after.value('securecomm_wake_keys_total', { source: 'remote' })).toBe(0);
  });

  test('the pool, the stream, the to-device queue and the event loop are there', async () => {
    const m = await scrape();
    expect(m.value('securecomm_db_pool_size')).toBe(TEST_POOL_SIZE);
    expect(m.value('securecomm_db_pool_waiting')).toBe(0);
    expect(m.value('securecomm_db_pool_wait_seconds_count', { kind: 'transaction' })).toBeGreaterThan(0);
    expect(m.value('securecomm_db_pool_wait_seconds_count', { kind: 'query' })).toBeGreaterThan(0);
    expect(m.value('securecomm_db_pool_timeouts_total')).toBe(0);
    expect(m.value('securecomm_stream_watermark')).toBeGreaterThan(0);
    expect(m.value('securecomm_stream_positions_in_flight')).toBeGreaterThanOrEqual(0);
    expect(m.value('securecomm_db_lock_waits')).toBeGreaterThanOrEqual(0);
    expect(m.value('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);

    const queued = m.value('securecomm_to_device_queued')!;
    const sent = await t.http.put(`${V3}/sendToDevice/m.dummy/metrics1`).set(alice.auth).send({ messages: { [bob.userId]: { [bob.deviceId]: {} } } });
    expect(sent.status).toBe(200);
    expect((await scrape()).value('securecomm_to_device_queued')).toBe(queued + 1);
  });

  test('no user id, room id, device id, event id, token or raw path appears in a scrape', async () => {
    const carol = await registerUser(t, 'metricscarolsecret');
    const eventId = await rooms.send(alice, roomId, 'secret');
    await t.http.get(`${V3}/rooms/${enc(roomId)}/event/${enc(eventId)}`).set(alice.auth);
    await t.http.get(`${V3}/profile/${enc(carol.userId)}`).set(carol.auth);
    await t.http.get(`${V3}/rooms/${enc(roomId)}/no-such-endpoint/${enc(carol.userId)}`).set(carol.auth);
    await t.http.get(`/unrouted/metricscarolsecret/${enc(roomId)}`);
    const text = (await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}`)).text;
    const m = parseExposition(text);
    expect(m.value('securecomm_http_requests_total', { method: 'GET', route: '(unrouted)', status: '404' })).toBeGreaterThanOrEqual(2);
    expect(m.value('securecomm_http_requests_total', { method: 'GET', route: '/_matrix/client/v3/rooms/:roomId/event/:eventId', status: '200' })).toBe(1);
    for (const secret of [
      alice.userId, bob.userId, carol.userId, 'metricscarolsecret', roomId, encodeURIComponent(roomId), eventId, encodeURIComponent(eventId),
      alice.deviceId, bob.deviceId, carol.deviceId, alice.accessToken, carol.accessToken, TOKEN, 'test.local',
    ]) {
      expect(text).not.toContain(secret);
    }
    // Every label value is a method, a route template, a status or a fixed word of ours.
    const routes = new Set(m.samples.map((s) => s.labels.route).filter((r) => r !== undefined));
    for (const r of routes) expect(r === '(unrouted)' || (r.startsWith('/') && !r.includes('!') && !r.includes('@') && !r.includes('$'))).toBe(true);
  });
});

describe('metrics on their own listener (METRICS_PORT)', () => {
  let database: TestDatabase;
  let running: RunningServer | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await running?.stop();
    await database?.drop();
  });

  async function start(extra: Partial<Config>) {
    await running?.stop();
    const metricsPort = await freePort();
    running = await startServer(testConfig({ databaseUrl: database.url, port: 0, metricsPort, ...extra }));
    return { main: running.url, metrics: running.metricsUrl! };
  }

  test('served there (loopback by default), not on the main listener; only GET /metrics', async () => {
    const { main, metrics } = await start({});
    expect(metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await fetch(`${main}/_matrix/client/versions`);
    const res = await fetch(metrics);
    expect(res.status).toBe(200);
    const m = parseExposition(await res.text());
    expect(m.value('securecomm_http_requests_total', { method: 'GET', route: '/_matrix/client/versions', status: '200' })).toBe(1);

    const onMain = await fetch(`${main}/metrics`);
    expect(onMain.status).toBe(404);
    expectMatrixError(await onMain.json(), 'M_UNRECOGNIZED');
    const elsewhere = await fetch(metrics.replace(/\/metrics$/, '/_matrix/client/versions'));
    expect(elsewhere.status).toBe(404);
    expectMatrixError(await elsewhere.json(), 'M_UNRECOGNIZED');
    const post = await fetch(metrics, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  test('with METRICS_TOKEN too, the listener wants the token, and the main listener still does not serve them', async () => {
    const { main, metrics } = await start({ metricsToken: TOKEN });
    const none = await fetch(metrics);
    expect(none.status).toBe(401);
    expectMatrixError(await none.json(), 'M_MISSING_TOKEN');
    const wrong = await fetch(metrics, { headers: { Authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrong.status).toBe(401);
    expectMatrixError(await wrong.json(), 'M_UNKNOWN_TOKEN');
    const ok = await fetch(metrics, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(parseExposition(await ok.text()).value('securecomm_db_pool_size')).toBeGreaterThan(0);
    const onMain = await fetch(`${main}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(onMain.status).toBe(404);
  });
});
