/**
 * Profiles: GET /profile/{userId}, GET/PUT/DELETE /profile/{userId}/{keyName}: displayname, avatar_url, m.tz and
 * namespaced custom keys; only the owner writes; keys and the whole profile have size limits.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError, expectValidResponseById } from '../support/spec.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const profilePath = (userId: string) => `/_matrix/client/v3/profile/${encodeURIComponent(userId)}`;
const fieldPath = (userId: string, key: string) => `${profilePath(userId)}/${encodeURIComponent(key)}`;

async function getProfile(userId: string): Promise<Record<string, unknown>> {
  const res = await t.http.get(profilePath(userId));
  expect(res.status).toBe(200);
  expectValidResponseById('getUserProfile', 200, res.body);
  return res.body;
}

async function setField(u: TestUser, key: string, value: unknown, userId = u.userId) {
  return t.http.put(fieldPath(userId, key)).set(u.auth).send({ [key]: value });
}

async function expectSet(u: TestUser, key: string, value: unknown): Promise<void> {
  const res = await setField(u, key, value);
  expect([res.status, res.body]).toEqual([200, {}]);
  expectValidResponseById('setProfileField', 200, res.body);
}

function expectError(res: { status: number; body: unknown }, status: number, errcode: string): void {
  expect([res.status, (res.body as { errcode?: string }).errcode]).toEqual([status, errcode]);
  expectMatrixError(res.body, errcode);
}

describe('reading profiles', () => {
  test('a new user has displayname = localpart; GET needs no token', async () => {
    const u = await registerUser(t, 'alice_profile');
    expect(await getProfile(u.userId)).toEqual({ displayname: 'alice_profile' });
    const field = await t.http.get(fieldPath(u.userId, 'displayname'));
    expect([field.status, field.body]).toEqual([200, { displayname: 'alice_profile' }]);
    expectValidResponseById('getProfileField', 200, field.body);
  });

  test('GET with a token works too, also for another user', async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    const res = await t.http.get(profilePath(b.userId)).set(a.auth);
    expect(res.status).toBe(200);
    expect(res.body.displayname).toBe(b.userId.slice(1, b.userId.indexOf(':')));
  });

  test('unknown user: 404 M_NOT_FOUND for the profile and for a field', async () => {
    expectError(await t.http.get(profilePath('@nobody:test.local')), 404, 'M_NOT_FOUND');
    expectError(await t.http.get(fieldPath('@nobody:test.local', 'displayname')), 404, 'M_NOT_FOUND');
  });

  test('malformed user ids are 404 (or 400), never a server error', async () => {
    for (const id of ['nobody', '@', '@a\u0000b:test.local', '%', '@nobody:other.example']) {
      const res = await t.http.get(profilePath(id));
      expect([400, 404]).toContain(res.status);
      expectMatrixError(res.body);
    }
    const nul = await t.http.get('/_matrix/client/v3/profile/%00');
    expect([400, 404]).toContain(nul.status);
  });

  test('a field the user has not set: 404 M_NOT_FOUND', async () => {
    const u = await registerUser(t);
    expectError(await t.http.get(fieldPath(u.userId, 'avatar_url')), 404, 'M_NOT_FOUND');
    expectError(await t.http.get(fieldPath(u.userId, 'org.example.job')), 404, 'M_NOT_FOUND');
  });

  test('GET of an invalid key name: 400 M_INVALID_PARAM', async () => {
    const u = await registerUser(t);
    expectError(await t.http.get(fieldPath(u.userId, 'job')), 400, 'M_INVALID_PARAM');
  });

  test('a deactivated user has no profile', async () => {
    const u = await registerUser(t);
    await t.hs.sql`UPDATE users SET deactivated = true WHERE user_id = ${u.userId}`;
    expectError(await t.http.get(profilePath(u.userId)), 404, 'M_NOT_FOUND');
  });
});

describe('setting and deleting fields', () => {
  test('displayname: set, read back, delete', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'displayname', 'Alice Wonderland ✨');
    expect((await t.http.get(fieldPath(u.userId, 'displayname'))).body).toEqual({ displayname: 'Alice Wonderland ✨' });
    expect(await getProfile(u.userId)).toEqual({ displayname: 'Alice Wonderland ✨' });

    const del = await t.http.delete(fieldPath(u.userId, 'displayname')).set(u.auth);
    expect([del.status, del.body]).toEqual([200, {}]);
    expectValidResponseById('deleteProfileField', 200, del.body);
    expect(await getProfile(u.userId)).toEqual({});
    expectError(await t.http.get(fieldPath(u.userId, 'displayname')), 404, 'M_NOT_FOUND');
    // Deleting a field that does not exist is fine.
    const again = await t.http.delete(fieldPath(u.userId, 'displayname')).set(u.auth);
    expect([again.status, again.body]).toEqual([200, {}]);
  });

  test('avatar_url must be an mxc:// URI', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'avatar_url', 'mxc://matrix.org/SDGdghriugerRg');
    expect((await t.http.get(fieldPath(u.userId, 'avatar_url'))).body).toEqual({ avatar_url: 'mxc://matrix.org/SDGdghriugerRg' });
    await expectSet(u, 'avatar_url', 'mxc://[::1]:8448/abc_DEF-123');
    for (const bad of ['https://example.org/a.png', 'mxc://', 'mxc://server', 'mxc://server/with/slash', 'mxc://server/a b', 42, null, { url: 'mxc://a/b' }]) {
      const res = await setField(u, 'avatar_url', bad);
      expectError(res, 400, 'M_BAD_JSON');
    }
    expect((await getProfile(u.userId)).avatar_url).toBe('mxc://[::1]:8448/abc_DEF-123');
  });

  test('avatar_url "" removes the avatar (older clients clear it that way)', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'avatar_url', 'mxc://matrix.org/abc');
    await expectSet(u, 'avatar_url', '');
    const profile = await getProfile(u.userId);
    expect(profile).not.toHaveProperty('avatar_url');
  });

  test('m.tz is a string', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'm.tz', 'Europe/London');
    expect((await t.http.get(fieldPath(u.userId, 'm.tz'))).body).toEqual({ 'm.tz': 'Europe/London' });
    expectError(await setField(u, 'm.tz', 1), 400, 'M_BAD_JSON');
    expect((await getProfile(u.userId))['m.tz']).toBe('Europe/London');
  });

  test('custom namespaced keys take any JSON value and show in the whole profile', async () => {
    const u = await registerUser(t);
    const job = { title: 'Engineer', since: 2019, tags: ['a', 'b'], nested: { ok: true, none: null } };
    await expectSet(u, 'org.example.job', job);
    await expectSet(u, 'org.example.count', 7);
    await expectSet(u, 'org.example.flag', false);
    await expectSet(u, 'org.example.list', [1, 'two', { three: 3 }]);
    await expectSet(u, 'org.example.nothing', null);
    await expectSet(u, 'm.example_field', 'custom');
    const field = await t.http.get(fieldPath(u.userId, 'org.example.job'));
    expect([field.status, field.body]).toEqual([200, { 'org.example.job': job }]);
    expect((await t.http.get(fieldPath(u.userId, 'org.example.nothing'))).body).toEqual({ 'org.example.nothing': null });
    const displayname = u.userId.slice(1, u.userId.indexOf(':'));
    expect(await getProfile(u.userId)).toEqual({
      displayname,
      'org.example.job': job,
      'org.example.count': 7,
      'org.example.flag': false,
      'org.example.list': [1, 'two', { three: 3 }],
      'org.example.nothing': null,
      'm.example_field': 'custom',
    });
    // Overwrite, then delete one key: the others stay.
    await expectSet(u, 'org.example.job', 'retired');
    expect((await t.http.delete(fieldPath(u.userId, 'org.example.count')).set(u.auth)).status).toBe(200);
    const after = await getProfile(u.userId);
    expect(after['org.example.job']).toBe('retired');
    expect(after).not.toHaveProperty('org.example.count');
    expect(after['org.example.flag']).toBe(false);
  });

  test('only the key named in the URL is stored; other body keys are ignored', async () => {
    const u = await registerUser(t);
    const res = await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth).send({ displayname: 'Only me', avatar_url: 'mxc://a/b', 'org.example.x': 1 });
    expect(res.status).toBe(200);
    expect(await getProfile(u.userId)).toEqual({ displayname: 'Only me' });
  });

  test('guests may set their display name', async () => {
    const reg = await t.http.post('/_matrix/client/v3/register?kind=guest').send({});
    expect(reg.status).toBe(200);
    const guest = { userId: reg.body.user_id as string, auth: { Authorization: `Bearer ${reg.body.access_token}` } } as TestUser;
    expect(await getProfile(guest.userId)).toEqual({});
    await expectSet(guest, 'displayname', 'Visitor');
    expect(await getProfile(guest.userId)).toEqual({ displayname: 'Visitor' });
  });

  test('the user id in the path may name the owner with any escaping', async () => {
    const u = await registerUser(t);
    const raw = `/_matrix/client/v3/profile/${u.userId}/displayname`;
    const res = await t.http.put(raw).set(u.auth).send({ displayname: 'Unescaped' });
    expect(res.status).toBe(200);
    expect((await getProfile(u.userId)).displayname).toBe('Unescaped');
  });
});

describe('errors when writing', () => {
  test("someone else's profile: 403 M_FORBIDDEN for PUT and DELETE, and nothing changes", async () => {
    const a = await registerUser(t);
    const b = await registerUser(t);
    await expectSet(b, 'org.example.job', 'baker');
    const before = await getProfile(b.userId);
    expectError(await setField(a, 'displayname', 'Hacked', b.userId), 403, 'M_FORBIDDEN');
    expectError(await setField(a, 'org.example.job', 'hacked', b.userId), 403, 'M_FORBIDDEN');
    expectError(await t.http.delete(fieldPath(b.userId, 'displayname')).set(a.auth), 403, 'M_FORBIDDEN');
    expectError(await t.http.delete(fieldPath(b.userId, 'org.example.job')).set(a.auth), 403, 'M_FORBIDDEN');
    expect(await getProfile(b.userId)).toEqual(before);
    // An unknown user's profile is not the requester's either.
    expectError(await setField(a, 'displayname', 'x', '@nobody:test.local'), 403, 'M_FORBIDDEN');
  });

  test('invalid key names: 400 M_INVALID_PARAM', async () => {
    const u = await registerUser(t);
    for (const key of ['job', 'Org.example.job', 'org.Example', 'org..example', 'org.example.', '.org.example', '1org.example', 'org.example-job', 'm.tz.x.', 'user_id']) {
      expectError(await setField(u, key, 'x'), 400, 'M_INVALID_PARAM');
      expectError(await t.http.delete(fieldPath(u.userId, key)).set(u.auth), 400, 'M_INVALID_PARAM');
    }
    expect(Object.keys(await getProfile(u.userId))).toEqual(['displayname']);
  });

  test('a key over 255 bytes: 400 M_KEY_TOO_LARGE; exactly 255 bytes is fine', async () => {
    const u = await registerUser(t);
    const key255 = `org.${'a'.repeat(251)}`;
    expect(Buffer.byteLength(key255)).toBe(255);
    await expectSet(u, key255, 1);
    const key256 = `org.${'a'.repeat(252)}`;
    expectError(await setField(u, key256, 1), 400, 'M_KEY_TOO_LARGE');
    expect(await getProfile(u.userId)).not.toHaveProperty(key256);
  });

  test('the body must contain the key: 400 M_MISSING_PARAM', async () => {
    const u = await registerUser(t);
    expectError(await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth).send({ avatar_url: 'mxc://a/b' }), 400, 'M_MISSING_PARAM');
    expectError(await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth).send({}), 400, 'M_MISSING_PARAM');
    expectError(await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth), 400, 'M_MISSING_PARAM');
  });

  test('the body must be a JSON object', async () => {
    const u = await registerUser(t);
    const notJson = await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth).set('Content-Type', 'application/json').send('{"displayname":');
    expectError(notJson, 400, 'M_NOT_JSON');
    const array = await t.http.put(fieldPath(u.userId, 'displayname')).set(u.auth).send(['displayname']);
    expect(array.status).toBe(400);
    expect(['M_NOT_JSON', 'M_BAD_JSON']).toContain(array.body.errcode);
  });

  test('displayname must be a string (M_BAD_JSON), at most 256 characters', async () => {
    const u = await registerUser(t);
    for (const bad of [42, null, true, ['x'], { name: 'x' }, 'x'.repeat(257)]) {
      expectError(await setField(u, 'displayname', bad), 400, 'M_BAD_JSON');
    }
    await expectSet(u, 'displayname', 'x'.repeat(256));
  });

  test('strings with NUL characters are refused with 400, not stored or a server error', async () => {
    const u = await registerUser(t);
    const res = await setField(u, 'org.example.nul', 'a\u0000b');
    expectError(res, 400, 'M_BAD_JSON');
    const inKey = await setField(u, 'org.example.obj', { 'a\u0000': 1 });
    expectError(inKey, 400, 'M_BAD_JSON');
    expect(await getProfile(u.userId)).not.toHaveProperty('org.example.nul');
  });

  test('absurdly deep nesting is refused with 400, not a server error', async () => {
    const u = await registerUser(t);
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const res = await t.http.put(fieldPath(u.userId, 'org.example.deep')).set(u.auth).set('Content-Type', 'application/json').send(`{"org.example.deep":${deep}}`);
    expectError(res, 400, 'M_BAD_JSON');
    // Ordinary nesting is fine.
    await expectSet(u, 'org.example.nested', { a: { b: { c: { d: [[[1]]] } } } });
  });

  test('a profile over 64 KiB: 400 M_PROFILE_TOO_LARGE and nothing changes; up to the limit is fine', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'org.example.small', 'kept');
    const before = await getProfile(u.userId);
    const huge = 'x'.repeat(64 * 1024);
    expectError(await setField(u, 'org.example.big', huge), 400, 'M_PROFILE_TOO_LARGE');
    expect(await getProfile(u.userId)).toEqual(before);

    // Fill the profile to just under 64 KiB of compact JSON (the server may count a few bytes of separators more):
    // accepted; a profile one byte over 64 KiB is not, and neither is any further field.
    const withBig = (n: number) => JSON.stringify({ ...before, 'org.example.big': 'y'.repeat(n) });
    const overhead = Buffer.byteLength(withBig(0));
    const fits = 64 * 1024 - overhead - 16;
    await expectSet(u, 'org.example.big', 'y'.repeat(fits));
    expect(Buffer.byteLength(JSON.stringify(await getProfile(u.userId)))).toBe(64 * 1024 - 16);
    const over = 64 * 1024 - overhead + 1;
    expectError(await setField(u, 'org.example.big', 'y'.repeat(over)), 400, 'M_PROFILE_TOO_LARGE');
    expectError(await setField(u, 'org.example.other', 'z'.repeat(32)), 400, 'M_PROFILE_TOO_LARGE');
    expect((await getProfile(u.userId))['org.example.big']).toBe('y'.repeat(fits));

    // Deleting makes room again.
    expect((await t.http.delete(fieldPath(u.userId, 'org.example.big')).set(u.auth)).status).toBe(200);
    await expectSet(u, 'org.example.other', 1);
  });

  test('concurrent writes cannot together pass 64 KiB', async () => {
    const u = await registerUser(t);
    await expectSet(u, 'org.example.base', 'b'.repeat(30 * 1024));
    const writes = await Promise.all(['org.example.one', 'org.example.two', 'org.example.three'].map((k) => setField(u, k, 'c'.repeat(20 * 1024))));
    expect(writes.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    expect(Buffer.byteLength(JSON.stringify(await getProfile(u.userId)))).toBeLessThanOrEqual(64 * 1024);
  });

  test('a multi-byte profile is measured in bytes', async () => {
    const u = await registerUser(t);
    // 30000 three-byte characters: 90000 bytes, far fewer characters than 64 Ki.
    expectError(await setField(u, 'org.example.wide', '€'.repeat(30000)), 400, 'M_PROFILE_TOO_LARGE');
  });

  test('no token on PUT or DELETE: 401 M_MISSING_TOKEN; a bad token: 401 M_UNKNOWN_TOKEN', async () => {
    const u = await registerUser(t);
    expectError(await t.http.put(fieldPath(u.userId, 'displayname')).send({ displayname: 'x' }), 401, 'M_MISSING_TOKEN');
    expectError(await t.http.delete(fieldPath(u.userId, 'displayname')), 401, 'M_MISSING_TOKEN');
    expectError(await t.http.put(fieldPath(u.userId, 'displayname')).set('Authorization', 'Bearer nope').send({ displayname: 'x' }), 401, 'M_UNKNOWN_TOKEN');
    expect((await getProfile(u.userId)).displayname).not.toBe('x');
  });
});

describe('profile changes reach rooms', () => {
  test('a new display name becomes a new join event in each joined room', async () => {
    const u = await registerUser(t);
    const roomId = (await t.http.post('/_matrix/client/v3/createRoom').set(u.auth).send({})).body.room_id;
    const put = await t.http.put(`/_matrix/client/v3/profile/${encodeURIComponent(u.userId)}/displayname`).set(u.auth).send({ displayname: 'Renamed' });
    expect(put.status).toBe(200);
    const member = await t.http.get(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(u.userId)}`).set(u.auth);
    expect(member.body).toMatchObject({ membership: 'join', displayname: 'Renamed' });
  });

  test('a join racing a display name change ends with the current name in the room, every time', async () => {
    const owner = await registerUser(t);
    const u = await registerUser(t);
    const roomId = (await t.http.post('/_matrix/client/v3/createRoom').set(owner.auth).send({ preset: 'public_chat' })).body.room_id;
    const memberPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(u.userId)}`;
    for (let i = 0; i < 12; i++) {
      const [join, rename] = await Promise.all([
        t.http.post(`/_matrix/client/v3/join/${encodeURIComponent(roomId)}`).set(u.auth).send({}),
        setField(u, 'displayname', `racing name ${i}`),
      ]);
      expect([join.status, rename.status]).toEqual([200, 200]);
      const member = await t.http.get(memberPath).set(owner.auth);
      expect(member.body).toMatchObject({ membership: 'join', displayname: `racing name ${i}` });
      expect((await t.http.post(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`).set(u.auth).send({})).status).toBe(200);
    }
  }, 120_000);
});
