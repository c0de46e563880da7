import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { insertRegistrationToken } from '../../src/db/registration-tokens.js';
import { expectValidResponse } from '../support/spec.js';
import { PASSWORD, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { asUser, bearer, dbCounts, login, whoamiStatus } from '../support/accounts.js';
import { V1, V3 } from '../support/rooms.js';

const REGISTER = `${V3}/register`;
const AVAILABLE = `${V3}/register/available`;
const VALIDITY = `${V1}/register/m.login.registration_token/validity`;

let open: TestServer;
let gated: TestServer;
let closed: TestServer;
beforeAll(async () => {
  [open, gated, closed] = await Promise.all([
    startTestServer(),
    startTestServer({ registration: 'token' }),
    startTestServer({ registration: 'closed', allowGuests: false }),
  ]);
});
afterAll(() => Promise.all([open, gated, closed].map((t) => t?.close())));

/** The 401 challenge of POST /register, checked against the spec. */
async function challenge(t: TestServer, body: Record<string, unknown> = {}) {
  const res = await t.http.post(REGISTER).send(body);
  expect(res.status).toBe(401);
  expectValidResponse('POST', REGISTER, 401, res.body);
  return res.body as { session: string; flows: { stages: string[] }[]; params: object; completed?: string[] };
}

/** Open registration in one go: challenge, then the dummy stage in that session. */
async function registerOpen(body: Record<string, unknown>, query = '') {
  const { session } = await challenge(open, body);
  return open.http.post(`${REGISTER}${query}`).send({ ...body, auth: { type: 'm.login.dummy', session } });
}

describe('open registration (m.login.dummy)', () => {
  test('the first request gets the UIA challenge and creates no account', async () => {
    const before = await dbCounts(open);
    const body = await challenge(open, { username: 'challenged', password: PASSWORD });
    expect(body.flows).toEqual([{ stages: ['m.login.dummy'] }]);
    expect(body.params).toEqual({});
    expect(typeof body.session).toBe('string');
    expect(body.completed ?? []).toEqual([]);
    const after = await dbCounts(open);
    expect({ ...after, uia_sessions: before.uia_sessions }).toEqual(before);
    expect(after.uia_sessions).toBe(before.uia_sessions + 1);
  });

  test('dummy stage registers, logs in on the named device, and ends the UIA session', async () => {
    const { session } = await challenge(open, { username: 'alice', password: PASSWORD });
    const res = await open.http.post(REGISTER).send({
      username: 'alice', password: PASSWORD, device_id: 'ALICEPHONE', initial_device_display_name: 'Alice phone',
      auth: { type: 'm.login.dummy', session },
    });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    expect(res.body.user_id).toBe('@alice:test.local');
    expect(res.body.device_id).toBe('ALICEPHONE');
    expect(typeof res.body.access_token).toBe('string');
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.expires_in_ms).toBeUndefined();

    const who = await open.http.get(`${V3}/account/whoami`).set(bearer(res.body.access_token));
    expect(who.body).toEqual({ user_id: '@alice:test.local', device_id: 'ALICEPHONE', is_guest: false });
    const [device] = await open.hs.sql`SELECT display_name FROM devices WHERE user_id = '@alice:test.local'`;
    expect(device.displayName).toBe('Alice phone');
    // The session served its purpose: it is gone, and cannot register a second account.
    expect(await open.hs.sql`SELECT 1 FROM uia_sessions WHERE session_id = ${session}`).toHaveLength(0);
    const replay = await open.http.post(REGISTER).send({ username: 'alice2', password: PASSWORD, auth: { type: 'm.login.dummy', session } });
    expect([replay.status, replay.body.errcode]).toEqual([400, 'M_UNKNOWN']);
    expect(await open.hs.sql`SELECT 1 FROM users WHERE user_id = '@alice2:test.local'`).toHaveLength(0);
  });

  test('upper-case user names are lower-cased (the spec lets the server map them)', async () => {
    const res = await registerOpen({ username: 'MixedCase.Bob', password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe('@mixedcase.bob:test.local');
    const again = await open.http.post(REGISTER).send({ username: 'MIXEDCASE.BOB', password: PASSWORD });
    expect([again.status, again.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
  });

  test('without a username the server generates a valid, non-numeric localpart', async () => {
    const res = await registerOpen({ password: PASSWORD });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    const localpart = /^@([^:]+):test\.local$/.exec(res.body.user_id)?.[1];
    expect(localpart).toMatch(/^[a-z0-9._=\-/+]+$/);
    expect(localpart).not.toMatch(/^[0-9]+$/);
  });

  test('a taken user name is refused before authentication (no UIA session) and after it', async () => {
    await registerUser(open, 'taken', PASSWORD);
    const before = await dbCounts(open);
    const res = await open.http.post(REGISTER).send({ username: 'taken', password: PASSWORD });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
    expectValidResponse('POST', REGISTER, 400, res.body);
    expect(await dbCounts(open)).toEqual(before);

    // A session started under another name cannot be used to take it either.
    const { session } = await challenge(open, { username: 'nottaken', password: PASSWORD });
    const late = await open.http.post(REGISTER).send({ username: 'taken', password: 'other password', auth: { type: 'm.login.dummy', session } });
    expect([late.status, late.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
    expect((await login(open, 'taken', 'other password')).status).toBe(403);
  });

  test.each([
    ['a space', 'has space'],
    ['a non-ASCII letter', 'émile'],
    ['a colon', 'a:b'],
    ['a leading @', '@carol'],
    ['the empty string', ''],
    ['a numeric name (reserved for guests)', '12345'],
    ['a user id over 255 characters', 'x'.repeat(250)],
    ['a user name over 255 characters', 'y'.repeat(300)],
  ])('an invalid user name (%s) is refused with M_INVALID_USERNAME and nothing is written', async (_why, username) => {
    const before = await dbCounts(open);
    const res = await open.http.post(REGISTER).send({ username, password: PASSWORD });
    expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_USERNAME']);
    expectValidResponse('POST', REGISTER, 400, res.body);
    expect(await dbCounts(open)).toEqual(before);
  });

  test('bad bodies are refused and write nothing', async () => {
    const before = await dbCounts(open);
    const wrongType = await open.http.post(REGISTER).send({ username: 42, password: PASSWORD });
    expect([wrongType.status, wrongType.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    const badFlag = await open.http.post(REGISTER).send({ username: 'dave', password: PASSWORD, inhibit_login: 'yes' });
    expect([badFlag.status, badFlag.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    const badKind = await open.http.post(`${REGISTER}?kind=admin`).send({ username: 'dave', password: PASSWORD });
    expect([badKind.status, badKind.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const badAuth = await open.http.post(REGISTER).send({ username: 'dave', password: PASSWORD, auth: 'dummy' });
    expect([badAuth.status, badAuth.body.errcode]).toEqual([400, 'M_BAD_JSON']);
    expect(await dbCounts(open)).toEqual(before);

    // No password: refused once the client authenticates; an empty one is a weak password.
    const { session } = await challenge(open, { username: 'dave' });
    const noPassword = await open.http.post(REGISTER).send({ username: 'dave', auth: { type: 'm.login.dummy', session } });
    expect([noPassword.status, noPassword.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
    const empty = await open.http.post(REGISTER).send({ username: 'dave', password: '', auth: { type: 'm.login.dummy', session } });
    expect([empty.status, empty.body.errcode]).toEqual([400, 'M_WEAK_PASSWORD']);
    const after = await dbCounts(open);
    expect({ ...after, uia_sessions: before.uia_sessions }).toEqual(before);
    // The completed stage is remembered: the corrected request needs no new stage.
    const fixed = await open.http.post(REGISTER).send({ username: 'dave', password: PASSWORD, auth: { session } });
    expect(fixed.status).toBe(200);
    expect(fixed.body.user_id).toBe('@dave:test.local');
  });

  test('inhibit_login registers without a device or tokens; the password logs in later', async () => {
    const res = await registerOpen({ username: 'quiet', password: PASSWORD, inhibit_login: true, refresh_token: true });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    expect(res.body).toEqual({ user_id: '@quiet:test.local' });
    expect(await open.hs.sql`SELECT 1 FROM devices WHERE user_id = '@quiet:test.local'`).toHaveLength(0);
    expect((await login(open, 'quiet', PASSWORD)).status).toBe(200);
  });

  test('refresh_token: true gives an expiring access token and a refresh token', async () => {
    const res = await registerOpen({ username: 'fresh', password: PASSWORD, refresh_token: true });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    expect(res.body.expires_in_ms).toBe(open.hs.config.accessTokenLifetimeMs);
    expect(typeof res.body.refresh_token).toBe('string');
    expect(res.body.refresh_token).not.toBe(res.body.access_token);
    const refreshed = await open.http.post(`${V3}/refresh`).send({ refresh_token: res.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(await whoamiStatus(open, refreshed.body.access_token)).toBe(200);
  });
});

describe('GET /register/available', () => {
  test('a free name is available; a taken one (in any case) is M_USER_IN_USE', async () => {
    const free = await open.http.get(AVAILABLE).query({ username: 'nobody_yet' });
    expect(free.status).toBe(200);
    expectValidResponse('GET', AVAILABLE, 200, free.body);
    expect(free.body).toEqual({ available: true });
    await registerUser(open, 'erin', PASSWORD);
    for (const username of ['erin', 'ERIN']) {
      const taken = await open.http.get(AVAILABLE).query({ username });
      expect([taken.status, taken.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
      expectValidResponse('GET', AVAILABLE, 400, taken.body);
    }
  });

  test('invalid and numeric names are M_INVALID_USERNAME; no name is M_MISSING_PARAM', async () => {
    for (const username of ['bad name', '123456', 'ünïcode']) {
      const res = await open.http.get(AVAILABLE).query({ username });
      expect([res.status, res.body.errcode]).toEqual([400, 'M_INVALID_USERNAME']);
    }
    const missing = await open.http.get(AVAILABLE);
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
  });
});

describe('guest accounts', () => {
  test('kind=guest ignores everything but the display name and gives a numeric guest id', async () => {
    const res = await open.http.post(`${REGISTER}?kind=guest`).send({
      username: 'notme', password: PASSWORD, device_id: 'CHOSEN', inhibit_login: true, initial_device_display_name: 'Guest browser',
    });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    expect(res.body.user_id).toMatch(/^@[0-9]+:test\.local$/);
    expect(res.body.device_id).not.toBe('CHOSEN');
    expect(typeof res.body.access_token).toBe('string');
    const who = await open.http.get(`${V3}/account/whoami`).set(bearer(res.body.access_token));
    expect(who.status).toBe(200);
    expectValidResponse('GET', `${V3}/account/whoami`, 200, who.body);
    expect(who.body).toEqual({ user_id: res.body.user_id, device_id: res.body.device_id, is_guest: true });
    const [device] = await open.hs.sql`SELECT display_name FROM devices WHERE user_id = ${res.body.user_id}`;
    expect(device.displayName).toBe('Guest browser');
    expect(await open.hs.sql`SELECT 1 FROM users WHERE user_id = '@notme:test.local'`).toHaveLength(0);
  });

  test('kind=guest ignores wrongly typed fields too (they are not read)', async () => {
    const res = await open.http.post(`${REGISTER}?kind=guest`).send({ username: 5, password: false, refresh_token: 'yes', initial_device_display_name: 7 });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toMatch(/^@[0-9]+:test\.local$/);
    expect(res.body.refresh_token).toBeUndefined();
  });

  test('a guest is refused on endpoints outside the guest list, and cannot log in with a password', async () => {
    const guest = (await open.http.post(`${REGISTER}?kind=guest`).send({})).body;
    const auth = bearer(guest.access_token);
    const password = await open.http.post(`${V3}/account/password`).set(auth).send({ new_password: 'x' });
    expect([password.status, password.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    const deactivate = await open.http.post(`${V3}/account/deactivate`).set(auth).send({});
    expect([deactivate.status, deactivate.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    const del = await open.http.delete(`${V3}/devices/${guest.device_id}`).set(auth).send({});
    expect([del.status, del.body.errcode]).toEqual([403, 'M_GUEST_ACCESS_FORBIDDEN']);
    // Spec (Guest Access): GET /devices is on the guest list.
    expect((await open.http.get(`${V3}/devices`).set(auth)).status).toBe(200);
    const pwLogin = await login(open, guest.user_id, '');
    expect([pwLogin.status, pwLogin.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
  });

  test('a guest upgrades by registering with its token: same user id, then a full account', async () => {
    const guest = (await open.http.post(`${REGISTER}?kind=guest`).send({})).body;
    const localpart = guest.user_id.slice(1, guest.user_id.indexOf(':'));
    const first = await open.http.post(REGISTER).set(bearer(guest.access_token)).send({ username: localpart, password: PASSWORD });
    expect(first.status).toBe(401);
    const res = await open.http
      .post(REGISTER)
      .set(bearer(guest.access_token))
      .send({ username: localpart, password: PASSWORD, auth: { type: 'm.login.dummy', session: first.body.session } });
    expect(res.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, res.body);
    expect(res.body.user_id).toBe(guest.user_id);
    const who = await open.http.get(`${V3}/account/whoami`).set(bearer(res.body.access_token));
    expect(who.body).toMatchObject({ user_id: guest.user_id, is_guest: false });
    const [row] = await open.hs.sql`SELECT is_guest FROM users WHERE user_id = ${guest.user_id}`;
    expect(row.isGuest).toBe(false);
    // The new session takes over the guest's device; the guest token, issued before there was a password, ends.
    expect(res.body.device_id).toBe(guest.device_id);
    expect(await whoamiStatus(open, guest.access_token)).toBe(401);
    // Now a full account: it can log in and reach full-account endpoints (UIA challenge, not 403).
    expect((await login(open, guest.user_id, PASSWORD)).status).toBe(200);
    const pw = await open.http.post(`${V3}/account/password`).set(bearer(res.body.access_token)).send({ new_password: 'n' });
    expect(pw.status).toBe(401);
  });

  test('the legacy guest_access_token field upgrades too; username may be omitted', async () => {
    const guest = (await open.http.post(`${REGISTER}?kind=guest`).send({})).body;
    const first = await open.http.post(REGISTER).send({ guest_access_token: guest.access_token, password: PASSWORD });
    const res = await open.http
      .post(REGISTER)
      .send({ guest_access_token: guest.access_token, password: PASSWORD, auth: { type: 'm.login.dummy', session: first.body.session } });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(guest.user_id);
    expect(asUser(res.body, PASSWORD).userId).toBe(guest.user_id);
  });

  test('a guest cannot take another name; a full account token cannot register', async () => {
    const guest = (await open.http.post(`${REGISTER}?kind=guest`).send({})).body;
    const first = await open.http.post(REGISTER).set(bearer(guest.access_token)).send({ username: 'someone_else', password: PASSWORD });
    const res = await open.http
      .post(REGISTER)
      .set(bearer(guest.access_token))
      .send({ username: 'someone_else', password: PASSWORD, auth: { type: 'm.login.dummy', session: first.body.session } });
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const [row] = await open.hs.sql`SELECT is_guest FROM users WHERE user_id = ${guest.user_id}`;
    expect(row.isGuest).toBe(true);
    expect(await open.hs.sql`SELECT 1 FROM users WHERE user_id = '@someone_else:test.local'`).toHaveLength(0);

    const full = await registerUser(open, 'fullaccount', PASSWORD);
    const before = await dbCounts(open);
    const again = await open.http.post(REGISTER).set(full.auth).send({ username: 'fullaccount2', password: PASSWORD });
    expect([again.status, again.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await dbCounts(open)).toEqual(before);
  });
});

describe('token-gated registration (m.login.registration_token)', () => {
  const now = () => Date.now();

  test('the flow asks for a registration token; the dummy stage is refused', async () => {
    const body = await challenge(gated, { username: 'nodummy', password: PASSWORD });
    expect(body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
    const res = await gated.http.post(REGISTER).send({ username: 'nodummy', password: PASSWORD, auth: { type: 'm.login.dummy', session: body.session } });
    expect([res.status, res.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    expect(res.body.session).toBe(body.session);
    expectValidResponse('POST', REGISTER, 401, res.body);
    expect(await gated.hs.sql`SELECT 1 FROM users WHERE user_id = '@nodummy:test.local'`).toHaveLength(0);
  });

  test('validity: true for a usable token; false for unknown, expired, used-up and over-long tokens', async () => {
    await insertRegistrationToken(gated.hs.sql, { token: 'valid-token', usesAllowed: 5, expiryTs: now() + 3_600_000 });
    await insertRegistrationToken(gated.hs.sql, { token: 'expired-token', usesAllowed: null, expiryTs: now() - 1000 });
    await insertRegistrationToken(gated.hs.sql, { token: 'used-up', usesAllowed: 0, expiryTs: null });
    const cases: [string, boolean][] = [['valid-token', true], ['unknown-token', false], ['expired-token', false], ['used-up', false], ['x'.repeat(65), false]];
    for (const [token, valid] of cases) {
      const res = await gated.http.get(VALIDITY).query({ token });
      expect([token, res.status, res.body]).toEqual([token, 200, { valid }]);
      expectValidResponse('GET', VALIDITY, 200, res.body);
    }
  });

  test('a token registers up to uses_allowed accounts, counted when each registration completes', async () => {
    await insertRegistrationToken(gated.hs.sql, { token: 'one-use', usesAllowed: 1, expiryTs: null });
    // Two clients both pass the stage with the same token before either completes.
    const a = await challenge(gated, { username: 'first', password: PASSWORD });
    const b = await challenge(gated, { username: 'second', password: PASSWORD });
    const stage = (session: string) => ({ type: 'm.login.registration_token', token: 'one-use', session });
    const first = await gated.http.post(REGISTER).send({ username: 'first', password: PASSWORD, auth: stage(a.session) });
    expect(first.status).toBe(200);
    expectValidResponse('POST', REGISTER, 200, first.body);
    expect(first.body.user_id).toBe('@first:test.local');
    const [row] = await gated.hs.sql`SELECT completed FROM registration_tokens WHERE token = 'one-use'`;
    expect(row.completed).toBe(1);

    const before = await dbCounts(gated);
    const second = await gated.http.post(REGISTER).send({ username: 'second', password: PASSWORD, auth: stage(b.session) });
    expect(second.status).toBe(401);
    expect(second.body.errcode).toBe('M_FORBIDDEN');
    const after = await dbCounts(gated);
    expect(after.users).toBe(before.users);
    expect((await gated.http.get(VALIDITY).query({ token: 'one-use' })).body).toEqual({ valid: false });
  });

  test('an expired token is refused and registers nothing', async () => {
    await insertRegistrationToken(gated.hs.sql, { token: 'old-token', usesAllowed: null, expiryTs: now() - 60_000 });
    const { session } = await challenge(gated, { username: 'late', password: PASSWORD });
    const before = await dbCounts(gated);
    const res = await gated.http
      .post(REGISTER)
      .send({ username: 'late', password: PASSWORD, auth: { type: 'm.login.registration_token', token: 'old-token', session } });
    expect([res.status, res.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    expect(await dbCounts(gated)).toEqual(before);
  });

  test('a token that expires between the stage and the registration is refused with 403', async () => {
    await insertRegistrationToken(gated.hs.sql, { token: 'expiring', usesAllowed: null, expiryTs: now() + 3_600_000 });
    const { session } = await challenge(gated, { username: 'racer', password: PASSWORD });
    // The stage passes, the account cannot be created (empty password), then the token expires.
    const stage = await gated.http
      .post(REGISTER)
      .send({ username: 'racer', password: '', auth: { type: 'm.login.registration_token', token: 'expiring', session } });
    expect(stage.body.errcode).toBe('M_WEAK_PASSWORD');
    await gated.hs.sql`UPDATE registration_tokens SET expiry_ts = ${now() - 1} WHERE token = 'expiring'`;
    const res = await gated.http.post(REGISTER).send({ username: 'racer', password: PASSWORD, auth: { session } });
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await gated.hs.sql`SELECT 1 FROM users WHERE user_id = '@racer:test.local'`).toHaveLength(0);
  });

  test('a guest upgrade on a token-gated server uses up a token use too', async () => {
    await insertRegistrationToken(gated.hs.sql, { token: 'guest-upgrade', usesAllowed: 1, expiryTs: null });
    const guest = (await gated.http.post(`${REGISTER}?kind=guest`).send({})).body;
    const first = await gated.http.post(REGISTER).set(bearer(guest.access_token)).send({ password: PASSWORD });
    expect(first.body.flows).toEqual([{ stages: ['m.login.registration_token'] }]);
    const res = await gated.http
      .post(REGISTER)
      .set(bearer(guest.access_token))
      .send({ password: PASSWORD, auth: { type: 'm.login.registration_token', token: 'guest-upgrade', session: first.body.session } });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(guest.user_id);
    const [row] = await gated.hs.sql`SELECT completed FROM registration_tokens WHERE token = 'guest-upgrade'`;
    expect(row.completed).toBe(1);
    expect((await gated.http.get(VALIDITY).query({ token: 'guest-upgrade' })).body).toEqual({ valid: false });
  });
});

describe('closed registration', () => {
  test('POST /register is 403 M_FORBIDDEN, for users and guests, and writes nothing', async () => {
    const before = await dbCounts(closed);
    const res = await closed.http.post(REGISTER).send({ username: 'nope', password: PASSWORD });
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expectValidResponse('POST', REGISTER, 403, res.body);
    const withAuth = await closed.http.post(REGISTER).send({ username: 'nope', password: PASSWORD, auth: { type: 'm.login.dummy' } });
    expect([withAuth.status, withAuth.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const guest = await closed.http.post(`${REGISTER}?kind=guest`).send({});
    expect([guest.status, guest.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(await dbCounts(closed)).toEqual(before);
  });

  test('token validity is 403 when registration is closed', async () => {
    const res = await closed.http.get(VALIDITY).query({ token: 'anything' });
    expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expectValidResponse('GET', VALIDITY, 403, res.body);
  });
});
