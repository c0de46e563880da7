/**
 * The admin API (/_securecomm/admin/v1): accounts, devices, registration tokens and rooms. Each call works for a
 * server admin, is refused to anyone else and without a token, refuses bad input without changing anything, and is
 * logged (who, what, which ids) without secrets.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pino from 'pino';
import type { Response } from 'supertest';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { bearer, dbCounts, login, whoamiStatus } from '../support/accounts.js';
import { expectMatrixError } from '../support/spec.js';
import { enc, roomHelpers, V3 } from '../support/rooms.js';

const ADMIN = '/_securecomm/admin/v1';

const logLines: Record<string, unknown>[] = [];
let t: TestServer;
let root: TestUser;
let plain: TestUser;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestServer({}, pino({ level: 'info' }, sink));
  root = await registerUser(t, 'root');
  await t.hs.sql`UPDATE users SET is_admin = true WHERE user_id = ${root.userId}`;
  plain = await registerUser(t, 'plain');
});
afterAll(() => t.close());

type Method = 'get' | 'post' | 'delete';
function call(method: Method, path: string, auth: Record<string, string> | undefined, body?: unknown) {
  let req = t.http[method](`${ADMIN}${path}`);
  if (auth) req = req.set(auth);
  return body !== undefined ? req.send(body as object) : req;
}
const asAdmin = (method: Method, path: string, body?: unknown) => call(method, path, root.auth, body);

function expectError(res: Response, status: number, errcode: string): void {
  expect({ status: res.status, errcode: res.body.errcode }).toEqual({ status, errcode });
  expectMatrixError(res.body, errcode);
}

async function ok(res: Response | Promise<Response>): Promise<Record<string, any>> {
  const r = await res;
  if (r.status !== 200) throw new Error(`expected 200, got ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Rows the admin API may touch: a refused call must leave every count as it was. */
async function counts() {
  const base = await dbCounts(t);
  const [r] = await t.hs.sql<{ events: number; rooms: number; aliases: number; deactivated: number; admins: number }[]>`
    SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM rooms) AS rooms,
      (SELECT count(*)::int FROM room_aliases) AS aliases, (SELECT count(*)::int FROM users WHERE deactivated) AS deactivated,
      (SELECT count(*)::int FROM users WHERE is_admin) AS admins`;
  const [pw] = await t.hs.sql<{ hashes: string }[]>`SELECT string_agg(coalesce(password_hash, '-'), ',' ORDER BY user_id) AS hashes FROM users`;
  return { ...base, ...r, hashes: pw.hashes };
}

const { createRoom, join, invite, send, sync } = roomHelpers(() => t.http);

const adminLines = () => logLines.filter((l) => l.msg === 'admin action');

describe('who may call the admin API', () => {
  test('every endpoint: 401 without a token, 403 M_FORBIDDEN for a non-admin, and nothing changes', async () => {
    const victim = await registerUser(t, 'victim');
    const roomId = await createRoom(victim);
    await ok(asAdmin('post', '/registration_tokens', { token: 'keep-me' }));
    const calls: [Method, string, unknown?][] = [
      ['post', '/users', { username: 'sneaky', password: 'pw' }],
      ['get', '/users'],
      ['get', `/users/${enc(victim.userId)}`],
      ['post', `/users/${enc(victim.userId)}/deactivate`, {}],
      ['post', `/users/${enc(victim.userId)}/password`, { new_password: 'taken over' }],
      ['get', `/users/${enc(victim.userId)}/devices`],
      ['delete', `/users/${enc(victim.userId)}/devices/${enc(victim.deviceId)}`],
      ['post', '/registration_tokens', { token: 'sneaky-token' }],
      ['get', '/registration_tokens'],
      ['delete', '/registration_tokens/keep-me'],
      ['get', '/rooms'],
      ['delete', `/rooms/${enc(roomId)}`],
    ];
    const before = await counts();
    for (const [method, path, body] of calls) {
      expectError(await call(method, path, undefined, body), 401, 'M_MISSING_TOKEN');
      expectError(await call(method, path, plain.auth, body), 403, 'M_FORBIDDEN');
      expectError(await call(method, path, bearer('sct_not_a_token'), body), 401, 'M_UNKNOWN_TOKEN');
    }
    expect(await counts()).toEqual(before);
    expect(await whoamiStatus(t, victim.accessToken)).toBe(200);
    expect((await login(t, 'victim', victim.password)).status).toBe(200);
  });
});

describe('accounts', () => {
  test('create: a generated password is returned once and logs in; a given one is not echoed', async () => {
    const created = await ok(asAdmin('post', '/users', { username: 'Made_By_Admin' }));
    expect(created).toEqual({ user_id: '@made_by_admin:test.local', admin: false, password: expect.any(String) });
    expect(created.password.length).toBeGreaterThanOrEqual(16);
    expect((await login(t, 'made_by_admin', created.password)).status).toBe(200);
    const [row] = await t.hs.sql<{ passwordHash: string }[]>`SELECT password_hash FROM users WHERE user_id = '@made_by_admin:test.local'`;
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);

    const given = await ok(asAdmin('post', '/users', { username: '@second_admin:test.local', password: 'chosen pw', admin: true }));
    expect(given).toEqual({ user_id: '@second_admin:test.local', admin: true });
    const session = await ok(login(t, 'second_admin', 'chosen pw'));
    // The new admin may use the admin API.
    expect((await call('get', '/users', bearer(session.access_token))).status).toBe(200);
    // No device for a non-bot account.
    expect(await t.hs.sql`SELECT 1 FROM devices WHERE user_id = '@made_by_admin:test.local'`).toHaveLength(1); // the login above
  });

  test('create a bot: it gets a device with its display name and an access token that works', async () => {
    const bot = await ok(asAdmin('post', '/users', { username: 'helper_bot', bot: true, device_display_name: 'Helper bot' }));
    expect(bot).toEqual({ user_id: '@helper_bot:test.local', admin: false, password: expect.any(String), device_id: expect.any(String), access_token: expect.any(String) });
    const whoami = await ok(t.http.get(`${V3}/account/whoami`).set(bearer(bot.access_token)));
    expect(whoami).toMatchObject({ user_id: '@helper_bot:test.local', device_id: bot.device_id });
    const devices = await ok(asAdmin('get', `/users/${enc(bot.user_id)}/devices`));
    expect(devices.devices).toEqual([{ device_id: bot.device_id, display_name: 'Helper bot', last_seen_ts: expect.any(Number), created_ts: expect.any(Number) }]);
  });

  test('create refuses bad input with a Matrix error and creates nothing', async () => {
    const before = await counts();
    expectError(await asAdmin('post', '/users', { username: 'plain', password: 'x' }), 400, 'M_USER_IN_USE');
    expectError(await asAdmin('post', '/users', { username: 'Not Valid!' }), 400, 'M_INVALID_USERNAME');
    expectError(await asAdmin('post', '/users', { username: '12345' }), 400, 'M_INVALID_USERNAME');
    expectError(await asAdmin('post', '/users', { username: '@x:other.example' }), 400, 'M_INVALID_PARAM');
    expectError(await asAdmin('post', '/users', { username: 'empty_pw', password: '' }), 400, 'M_WEAK_PASSWORD');
    expectError(await asAdmin('post', '/users', {}), 400, 'M_MISSING_PARAM');
    expectError(await asAdmin('post', '/users', { username: 'typo', admn: true }), 400, 'M_BAD_JSON');
    expectError(await asAdmin('post', '/users', { username: 'typo', admin: 'yes' }), 400, 'M_BAD_JSON');
    expectError(await asAdmin('post', '/users', { username: 'typo', device_display_name: 'no bot' }), 400, 'M_INVALID_PARAM');
    expectError(await t.http.post(`${ADMIN}/users`).set(root.auth).set('Content-Type', 'application/json').send('{not json'), 400, 'M_NOT_JSON');
    expect(await counts()).toEqual(before);
  });

  test('list: pages with limit/from cover every account once, in order; search matches id or display name', async () => {
    const all: string[] = [];
    let from: string | undefined;
    let pages = 0;
    do {
      const page = await ok(asAdmin('get', `/users?limit=2${from ? `&from=${enc(from)}` : ''}`));
      expect(page.users.length).toBeLessThanOrEqual(2);
      all.push(...page.users.map((u: { user_id: string }) => u.user_id));
      from = page.next_from;
      pages++;
    } while (from !== undefined && pages < 100);
    const inDb = (await t.hs.sql<{ userId: string }[]>`SELECT user_id FROM users ORDER BY user_id`).map((r) => r.userId);
    expect(all).toEqual(inDb);
    expect(pages).toBeGreaterThan(1);

    const one = await ok(asAdmin('get', `/users/${enc(root.userId)}`));
    expect(one).toEqual({ user_id: root.userId, displayname: 'root', admin: true, guest: false, deactivated: false, creation_ts: expect.any(Number) });

    await ok(t.http.put(`${V3}/profile/${enc(plain.userId)}/displayname`).set(plain.auth).send({ displayname: 'Pläin Jane 100%' }));
    const byName = await ok(asAdmin('get', `/users?search=${enc('jane')}`));
    expect(byName.users.map((u: { user_id: string }) => u.user_id)).toEqual([plain.userId]);
    expect(byName.users[0].displayname).toBe('Pläin Jane 100%');
    const byId = await ok(asAdmin('get', '/users?search=ROO'));
    expect(byId.users.map((u: { user_id: string }) => u.user_id)).toEqual([root.userId]);
    // LIKE wildcards are plain characters.
    expect((await ok(asAdmin('get', `/users?search=${enc('100%')}`))).users).toHaveLength(1);
    expect((await ok(asAdmin('get', `/users?search=${enc('_')}`))).users.every((u: { user_id: string }) => u.user_id.includes('_'))).toBe(true);
    expect((await ok(asAdmin('get', '/users?search=nobody-matches-this'))).users).toEqual([]);
  });

  test('list and get refuse bad parameters; unknown users are 404', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'from=', 'search=']) {
      expectError(await asAdmin('get', `/users?${q}`), 400, 'M_INVALID_PARAM');
    }
    expectError(await asAdmin('get', `/users/${enc('@nobody:test.local')}`), 404, 'M_NOT_FOUND');
    expectError(await asAdmin('get', `/users/${enc('@nobody:test.local')}/devices`), 404, 'M_NOT_FOUND');
  });

  test('deactivate: as self-deactivation: tokens and devices gone, login refused, every room left', async () => {
    const u = await registerUser(t, 'to_deactivate');
    const roomId = await createRoom(root, { preset: 'public_chat' });
    await ok(t.http.post(`${V3}/join/${enc(roomId)}`).set(u.auth).send({}));
    const before = await counts();
    expectError(await asAdmin('post', `/users/${enc(u.userId)}/deactivate`, { erase: 'yes' }), 400, 'M_BAD_JSON');
    expectError(await asAdmin('post', `/users/${enc('@ghost:test.local')}/deactivate`, {}), 404, 'M_NOT_FOUND');
    expect(await counts()).toEqual(before);

    expect(await ok(asAdmin('post', `/users/${enc(u.userId)}/deactivate`, { erase: true }))).toEqual({});
    expect(await whoamiStatus(t, u.accessToken)).toBe(401);
    expect((await login(t, 'to_deactivate', u.password)).status).toBe(403);
    expect((await ok(asAdmin('get', `/users/${enc(u.userId)}/devices`))).devices).toEqual([]);
    expect((await ok(asAdmin('get', `/users/${enc(u.userId)}`))).deactivated).toBe(true);
    const [m] = await t.hs.sql<{ membership: string }[]>`
      SELECT membership FROM current_state WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${u.userId}`;
    expect(m.membership).toBe('leave');
    // Again: nothing more to do.
    expect(await ok(asAdmin('post', `/users/${enc(u.userId)}/deactivate`))).toEqual({});
  });

  test('reset password: the new one works, the old one not; devices are logged out unless asked not to', async () => {
    const u = await registerUser(t, 'forgetful', 'old password');
    const second = await ok(login(t, 'forgetful', 'old password'));
    expect(await ok(asAdmin('post', `/users/${enc(u.userId)}/password`, { new_password: 'new password' }))).toEqual({});
    expect(await whoamiStatus(t, u.accessToken)).toBe(401);
    expect(await whoamiStatus(t, second.access_token)).toBe(401);
    expect((await login(t, 'forgetful', 'old password')).status).toBe(403);
    const fresh = await ok(login(t, 'forgetful', 'new password'));

    await ok(asAdmin('post', `/users/${enc(u.userId)}/password`, { new_password: 'third password', logout_devices: false }));
    expect(await whoamiStatus(t, fresh.access_token)).toBe(200);
    expect((await login(t, 'forgetful', 'third password')).status).toBe(200);
  });

  test('reset password refuses bad input and changes nothing', async () => {
    const u = await registerUser(t, 'steady', 'steady pw');
    const gone = await registerUser(t, 'gone_already');
    await ok(asAdmin('post', `/users/${enc(gone.userId)}/deactivate`));
    const before = await counts();
    expectError(await asAdmin('post', `/users/${enc(u.userId)}/password`, { new_password: '' }), 400, 'M_WEAK_PASSWORD');
    expectError(await asAdmin('post', `/users/${enc(u.userId)}/password`, {}), 400, 'M_MISSING_PARAM');
    expectError(await asAdmin('post', `/users/${enc(u.userId)}/password`, { new_password: 'x', logout_devices: 'no' }), 400, 'M_BAD_JSON');
    expectError(await asAdmin('post', `/users/${enc(gone.userId)}/password`, { new_password: 'revive' }), 400, 'M_INVALID_PARAM');
    expectError(await asAdmin('post', `/users/${enc('@ghost:test.local')}/password`, { new_password: 'x' }), 404, 'M_NOT_FOUND');
    expect(await counts()).toEqual(before);
    expect(await whoamiStatus(t, u.accessToken)).toBe(200);
    expect((await login(t, 'gone_already', gone.password)).status).toBe(403);
  });

  test('devices: list, delete one (its session ends, the others stay); unknown devices are 404', async () => {
    const u = await registerUser(t, 'many_devices');
    const other = await ok(login(t, 'many_devices', u.password, { initial_device_display_name: 'Laptop' }));
    const list = await ok(asAdmin('get', `/users/${enc(u.userId)}/devices`));
    expect(list.devices.map((d: { device_id: string }) => d.device_id).sort()).toEqual([u.deviceId, other.device_id].sort());
    expect(list.devices.find((d: { device_id: string }) => d.device_id === other.device_id).display_name).toBe('Laptop');

    const before = await counts();
    expectError(await asAdmin('delete', `/users/${enc(u.userId)}/devices/NOSUCHDEVICE`), 404, 'M_NOT_FOUND');
    // Another user's device id does not reach this user's devices.
    expectError(await asAdmin('delete', `/users/${enc(u.userId)}/devices/${enc(plain.deviceId)}`), 404, 'M_NOT_FOUND');
    expectError(await asAdmin('delete', `/users/${enc('@ghost:test.local')}/devices/X`), 404, 'M_NOT_FOUND');
    expect(await counts()).toEqual(before);

    expect(await ok(asAdmin('delete', `/users/${enc(u.userId)}/devices/${enc(other.device_id)}`))).toEqual({});
    expect(await whoamiStatus(t, other.access_token)).toBe(401);
    expect(await whoamiStatus(t, u.accessToken)).toBe(200);
    expect(await whoamiStatus(t, plain.accessToken)).toBe(200);
  });
});

describe('registration tokens', () => {
  test('create (generated or given), list with uses and expiry, revoke', async () => {
    const generated = await ok(asAdmin('post', '/registration_tokens', {}));
    expect(generated).toEqual({ token: expect.stringMatching(/^[A-Za-z0-9._~-]{16,64}$/), uses_allowed: null, completed: 0, expiry_time: null, valid: true });
    const expiry = Date.now() + 3_600_000;
    const given = await ok(asAdmin('post', '/registration_tokens', { token: 'spring.team~1', uses_allowed: 2, expiry_time: expiry }));
    expect(given).toEqual({ token: 'spring.team~1', uses_allowed: 2, completed: 0, expiry_time: expiry, valid: true });
    await t.hs.sql`UPDATE registration_tokens SET completed = 2 WHERE token = 'spring.team~1'`;

    const list = (await ok(asAdmin('get', '/registration_tokens'))).registration_tokens;
    expect(list).toEqual(expect.arrayContaining([generated, { ...given, completed: 2, valid: false }]));

    expect(await ok(asAdmin('delete', `/registration_tokens/${enc('spring.team~1')}`))).toEqual({});
    const after = (await ok(asAdmin('get', '/registration_tokens'))).registration_tokens;
    expect(after.map((x: { token: string }) => x.token)).not.toContain('spring.team~1');
    expectError(await asAdmin('delete', `/registration_tokens/${enc('spring.team~1')}`), 404, 'M_NOT_FOUND');
  });

  test('bad input is refused and creates nothing', async () => {
    await ok(asAdmin('post', '/registration_tokens', { token: 'exists' }));
    const before = await counts();
    const bad: [unknown, string][] = [
      [{ token: 'exists' }, 'M_INVALID_PARAM'],
      [{ token: 'has space' }, 'M_INVALID_PARAM'],
      [{ token: '' }, 'M_INVALID_PARAM'],
      [{ token: 'x'.repeat(65) }, 'M_INVALID_PARAM'],
      [{ uses_allowed: 0 }, 'M_INVALID_PARAM'],
      [{ uses_allowed: -1 }, 'M_INVALID_PARAM'],
      [{ uses_allowed: 2_147_483_648 }, 'M_INVALID_PARAM'],
      [{ uses_allowed: 1.5 }, 'M_BAD_JSON'],
      [{ uses_allowed: '3' }, 'M_BAD_JSON'],
      [{ expiry_time: Date.now() - 1000 }, 'M_INVALID_PARAM'],
      [{ expiry_time: 'tomorrow' }, 'M_BAD_JSON'],
      [{ token: 42 }, 'M_BAD_JSON'],
      [{ uses: 3 }, 'M_BAD_JSON'],
    ];
    for (const [body, errcode] of bad) expectError(await asAdmin('post', '/registration_tokens', body), 400, errcode);
    expect(await counts()).toEqual(before);
  });
});

describe('rooms', () => {
  test('list with joined member counts, page by page', async () => {
    const a = await registerUser(t, 'room_a');
    const b = await registerUser(t, 'room_b');
    const roomId = await createRoom(a, { preset: 'public_chat' });
    await ok(t.http.post(`${V3}/join/${enc(roomId)}`).set(b.auth).send({}));
    await ok(t.http.post(`${V3}/rooms/${enc(roomId)}/invite`).set(a.auth).send({ user_id: plain.userId }));

    const rooms: { room_id: string; joined_members: number; creator: string; room_version: string; creation_ts: number }[] = [];
    let from: string | undefined;
    do {
      const page = await ok(asAdmin('get', `/rooms?limit=1${from ? `&from=${enc(from)}` : ''}`));
      expect(page.rooms.length).toBeLessThanOrEqual(1);
      rooms.push(...page.rooms);
      from = page.next_from;
    } while (from !== undefined);
    const inDb = (await t.hs.sql<{ roomId: string }[]>`SELECT room_id FROM rooms ORDER BY room_id`).map((r) => r.roomId);
    expect(rooms.map((r) => r.room_id)).toEqual(inDb);
    expect(rooms.find((r) => r.room_id === roomId)).toEqual({ room_id: roomId, joined_members: 2, creator: a.userId, room_version: expect.any(String), creation_ts: expect.any(Number) });
    expectError(await asAdmin('get', '/rooms?limit=-1'), 400, 'M_INVALID_PARAM');
  });

  test('delete: members leave, the content is purged, their /sync shows the room as left and keeps working', async () => {
    const owner = await registerUser(t, 'room_owner');
    const member = await registerUser(t, 'room_member');
    const invitee = await registerUser(t, 'room_invitee');
    const roomId = await createRoom(owner, { preset: 'public_chat', room_alias_name: 'doomed', name: 'Doomed', visibility: 'public' });
    await join(member, roomId);
    await send(owner, roomId, 'SECRET');
    await invite(owner, roomId, invitee);
    const memberSince = (await sync(member)).next_batch;
    const inviteeSince = (await sync(invitee)).next_batch;
    // A long-poll waiting when the room goes is woken by the leave.
    const polling = t.http.get(`${V3}/sync`).query({ since: memberSince, timeout: 20000 }).set(member.auth).then((r) => r);
    await new Promise((r) => setTimeout(r, 200));

    expect(await t.hs.sql`SELECT 1 FROM published_rooms WHERE room_id = ${roomId}`).toHaveLength(1);
    expectError(await asAdmin('delete', `/rooms/${enc('!unknown:test.local')}`), 404, 'M_NOT_FOUND');
    const deleted = await ok(asAdmin('delete', `/rooms/${enc(roomId)}`));
    expect(deleted.removed_members.sort()).toEqual([owner.userId, member.userId, invitee.userId].sort());

    const woken = await polling;
    expect(woken.status).toBe(200);
    expect(Object.keys(woken.body.rooms?.leave ?? {})).toContain(roomId);

    // The member's incremental sync shows the room as left, with their leave and the reason.
    const later = await sync(member, { since: memberSince });
    expect(later.rooms?.join?.[roomId]).toBeUndefined();
    const left = later.rooms.leave[roomId];
    expect(left.timeline.events).toEqual([
      expect.objectContaining({ type: 'm.room.member', state_key: member.userId, content: { membership: 'leave', reason: 'This room was deleted by a server administrator.' } }),
    ]);
    // The invitee's invite is withdrawn the same way.
    expect(Object.keys((await sync(invitee, { since: inviteeSince })).rooms.leave)).toEqual([roomId]);
    // Syncs afterwards, initial or incremental, work and show nothing of the room.
    const initial = await sync(member);
    expect(initial.rooms?.join?.[roomId]).toBeUndefined();
    expect(initial.rooms?.leave?.[roomId]).toBeUndefined();
    const next = await sync(member, { since: later.next_batch, timeout: 0 });
    expect(next.rooms?.leave?.[roomId]).toBeUndefined();
    expect((await sync(owner, { filter: JSON.stringify({ room: { include_leave: true } }) })).rooms.leave[roomId].timeline.events).toHaveLength(1);

    // Purged: only the members' leave events are left, without what they replaced; no alias, no ciphertext.
    const events = await t.hs.sql<{ type: string; content: Record<string, unknown>; unsigned: Record<string, unknown> }[]>`
      SELECT type, content, unsigned FROM events WHERE room_id = ${roomId}`;
    expect(events).toHaveLength(3);
    for (const e of events) expect(e).toEqual({ type: 'm.room.member', content: { membership: 'leave', reason: 'This room was deleted by a server administrator.' }, unsigned: {} });
    expect(JSON.stringify(await t.hs.sql`SELECT * FROM events WHERE room_id = ${roomId}`)).not.toContain('SECRET');
    expect(await t.hs.sql`SELECT 1 FROM current_state WHERE room_id = ${roomId} AND type <> 'm.room.member'`).toHaveLength(0);
    expect(await t.hs.sql`SELECT 1 FROM room_aliases WHERE room_id = ${roomId}`).toHaveLength(0);
    expect(await t.hs.sql`SELECT 1 FROM published_rooms WHERE room_id = ${roomId}`).toHaveLength(0);
    expect(await t.hs.sql`SELECT 1 FROM receipts WHERE room_id = ${roomId}`).toHaveLength(0);
    expect((await t.http.get(`${V3}/directory/room/${enc('#doomed:test.local')}`)).status).toBe(404);

    // Nobody can join or write again; the room is no longer listed and cannot be deleted twice.
    expect((await t.http.post(`${V3}/join/${enc(roomId)}`).set(member.auth).send({})).status).toBe(403);
    expect((await t.http.put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/t2`).set(owner.auth).send({})).status).toBeGreaterThanOrEqual(400);
    const listed = await ok(asAdmin('get', '/rooms?limit=1000'));
    expect(listed.rooms.map((r: { room_id: string }) => r.room_id)).not.toContain(roomId);
    expectError(await asAdmin('delete', `/rooms/${enc(roomId)}`), 404, 'M_NOT_FOUND');
    // The members can forget it.
    await ok(t.http.post(`${V3}/rooms/${enc(roomId)}/forget`).set(owner.auth).send({}));
  });
});

describe('the audit log', () => {
  test('each admin action is one info line with the admin, the action and ids, and no secret', async () => {
    const created = await ok(asAdmin('post', '/users', { username: 'logged_bot', bot: true }));
    const withPw = await ok(asAdmin('post', '/users', { username: 'logged_pw', password: 'pw-in-body-55123' }));
    await ok(asAdmin('post', `/users/${enc(withPw.user_id)}/password`, { new_password: 'new-secret-pw-88412' }));
    const token = await ok(asAdmin('post', '/registration_tokens', { token: 'secret-reg-token-7731' }));
    await ok(asAdmin('delete', `/registration_tokens/${token.token}`));
    await ok(asAdmin('post', `/users/${enc(created.user_id)}/deactivate`));

    const all = JSON.stringify(logLines);
    for (const secret of [created.password, created.access_token, 'pw-in-body-55123', 'new-secret-pw-88412', 'secret-reg-token-7731', root.accessToken]) {
      expect(all).not.toContain(secret);
    }
    const lines = adminLines();
    for (const l of lines) {
      expect(l.level).toBe(30);
      expect(l.admin).toBe(root.userId);
    }
    const of = (action: string) => lines.filter((l) => l.action === action);
    expect(of('create_user')).toEqual(expect.arrayContaining([expect.objectContaining({ user_id: '@logged_bot:test.local', is_admin: false, bot: true, device_id: created.device_id })]));
    expect(of('reset_password')).toEqual(expect.arrayContaining([expect.objectContaining({ user_id: withPw.user_id, logout_devices: true })]));
    expect(of('deactivate_user')).toEqual(expect.arrayContaining([expect.objectContaining({ user_id: created.user_id })]));
    const tokenLines = [...of('create_registration_token'), ...of('revoke_registration_token')];
    expect(tokenLines.length).toBeGreaterThanOrEqual(2);
    for (const l of tokenLines) expect(l.token_sha256).toMatch(/^[0-9a-f]{16}$/);
    // Earlier tests' actions are there too.
    for (const action of ['delete_device', 'delete_room']) expect(of(action).length).toBeGreaterThan(0);
    expect(of('delete_room')[0]).toMatchObject({ room_id: expect.stringMatching(/^!/), removed_members: 3 });
    // Refused calls log no action.
    expect(lines.some((l) => l.admin !== root.userId)).toBe(false);
  });
});
