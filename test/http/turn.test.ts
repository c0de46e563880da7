/**
 * GET /voip/turnServer: `{}` without TURN settings; with them, credentials in coturn's use-auth-secret scheme that a
 * real coturn (started here on loopback) accepts until they expire, and refuses with a wrong password. Guests get them
 * only with TURN_ALLOW_GUESTS. Without coturn installed the coturn tests are skipped loudly, except in CI.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectValidResponseById } from '../support/spec.js';
import { bearer } from '../support/accounts.js';
import { V3 } from '../support/rooms.js';
import { allocate, coturnInstalled, startCoturn, type Coturn } from '../support/coturn.js';

const TURN = `${V3}/voip/turnServer`;
const SECRET = 'a shared secret only coturn and the homeserver know';
const URIS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];

const haveCoturn = coturnInstalled();
if (!haveCoturn) {
  if (process.env.CI === 'true') throw new Error('coturn (turnserver, turnutils_uclient) is not installed: CI must run the TURN tests (.ci/run installs it)');
  console.warn('\n*** coturn is not installed (apt-get install coturn): the TURN allocation tests are SKIPPED ***\n');
}

async function guest(t: TestServer): Promise<{ auth: { Authorization: string } }> {
  const res = await t.http.post(`${V3}/register?kind=guest`).send({});
  expect(res.status).toBe(200);
  return { auth: bearer(res.body.access_token) };
}

describe('without TURN settings', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  test('200 {} for users and guests; 401 without a token', async () => {
    const u = await registerUser(t);
    const res = await t.http.get(TURN).set(u.auth);
    expect([res.status, res.body]).toEqual([200, {}]);
    expect((await t.http.get(TURN).set((await guest(t)).auth)).body).toEqual({});
    expect((await t.http.get(TURN)).status).toBe(401);
  });
});

describe('settings', () => {
  test('TURN_URIS and TURN_SHARED_SECRET go together; URIs are turn:, turns: or stun:; TURN_TTL is a duration', () => {
    expect(() => loadConfig({ TURN_URIS: 'turn:a.example:3478' })).toThrow(/TURN_URIS and TURN_SHARED_SECRET/);
    expect(() => loadConfig({ TURN_SHARED_SECRET: 'x' })).toThrow(/TURN_URIS and TURN_SHARED_SECRET/);
    expect(() => loadConfig({ TURN_URIS: 'http://a.example', TURN_SHARED_SECRET: 'x' })).toThrow(/not a turn:/);
    expect(() => loadConfig({ TURN_URIS: 'turn:a', TURN_SHARED_SECRET: 'x', TURN_TTL: '500ms' })).toThrow(/TURN_TTL/);
    const c = loadConfig({ TURN_URIS: 'turn:a.example:3478?transport=udp, turns:a.example:5349', TURN_SHARED_SECRET: 'x', TURN_TTL: '2h' });
    expect([c.turnUris, c.turnTtlMs, c.turnAllowGuests]).toEqual([['turn:a.example:3478?transport=udp', 'turns:a.example:5349'], 7_200_000, false]);
    expect(loadConfig({}).turnUris).toEqual([]);
  });
});

describe('with TURN settings', () => {
  let t: TestServer;
  let alice: TestUser;
  let coturn: Coturn | undefined;
  beforeAll(async () => {
    if (haveCoturn) coturn = await startCoturn(SECRET, 'test.local');
    const uris = coturn ? [`turn:127.0.0.1:${coturn.port}?transport=udp`] : URIS;
    t = await startTestServer({ turnUris: uris, turnSharedSecret: SECRET, turnTtlMs: 3_600_000 });
    alice = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await coturn?.stop();
  });

  test("credentials in coturn's use-auth-secret scheme: expiry:userId, base64 HMAC-SHA1, ttl in seconds", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await t.http.get(TURN).set(alice.auth);
    expect(res.status).toBe(200);
    expectValidResponseById('getTurnServer', 200, res.body);
    expect(res.body.ttl).toBe(3600);
    expect(res.body.uris).toEqual(t.hs.config.turnUris);
    const [expiry, ...rest] = res.body.username.split(':');
    expect(rest.join(':')).toBe(alice.userId);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 3600);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(res.body.password).toBe(createHmac('sha1', SECRET).update(res.body.username).digest('base64'));
  });

  test('guests: 403 M_GUEST_ACCESS_FORBIDDEN unless TURN_ALLOW_GUESTS', async () => {
    const res = await t.http.get(TURN).set((await guest(t)).auth);
    expect([res.status, res.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    const open = await startTestServer({ turnUris: URIS, turnSharedSecret: SECRET, turnAllowGuests: true });
    try {
      const g = await open.http.get(TURN).set((await guest(open)).auth);
      expect(g.status).toBe(200);
      expect(g.body.username).toMatch(/^\d+:@\d+:test\.local$/);
    } finally {
      await open.close();
    }
  });

  (haveCoturn ? test : test.skip)('coturn allocates and relays with the credentials handed out, and refuses a wrong password', async () => {
    const creds = (await t.http.get(TURN).set(alice.auth)).body;
    const good = await allocate(coturn!.port, creds.username, creds.password);
    expect(good.ok).toBe(true);
    expect(good.relayed).toBeGreaterThan(0);
    const bad = await allocate(coturn!.port, creds.username, Buffer.from('not the password').toString('base64'));
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/Cannot complete Allocation/);
    const otherUser = await allocate(coturn!.port, creds.username.replace(alice.userId, '@mallory:test.local'), creds.password);
    expect(otherUser.ok).toBe(false);
  }, 90_000);

  (haveCoturn ? test : test.skip)('coturn refuses the credentials once their ttl has passed', async () => {
    const short = await startTestServer({ turnUris: t.hs.config.turnUris, turnSharedSecret: SECRET, turnTtlMs: 1000 });
    try {
      const u = await registerUser(short);
      const creds = (await short.http.get(TURN).set(u.auth)).body;
      expect(creds.ttl).toBe(1);
      await new Promise((r) => setTimeout(r, 2100));
      const late = await allocate(coturn!.port, creds.username, creds.password);
      expect(late.ok).toBe(false);
    } finally {
      await short.close();
    }
  }, 90_000);
});
