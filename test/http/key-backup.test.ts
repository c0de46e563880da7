/** Key backup over HTTP: versions, the current-version rule, the better-backup rule, etag and count. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectValidResponseById } from '../support/spec.js';
import { V3 } from '../support/rooms.js';

let t: TestServer;
let u: TestUser;
const ALG = 'm.megolm_backup.v1.curve25519-aes-sha2';
/** A tag made a length base64 can have (never 1 more than a multiple of 4). */
const base64ish = (s: string) => (s.length % 4 === 1 ? `${s}A` : s);
const session = (first: number, fwd: number, verified: boolean, tag: string) => ({
  first_message_index: first, forwarded_count: fwd, is_verified: verified, session_data: { ephemeral: base64ish(tag), ciphertext: base64ish(`ct-${tag}`), mac: 'mA' },
});

beforeAll(async () => ([t, [u]] = await startWithUsers(1)));
afterAll(() => t.close());

describe('key backup', () => {
  let version: string;

  test('no backup yet: 404; create a version and read it as current', async () => {
    expect((await t.http.get(`${V3}/room_keys/version`).set(u.auth)).body.errcode).toBe('M_NOT_FOUND');
    const created = await t.http.post(`${V3}/room_keys/version`).set(u.auth).send({ algorithm: ALG, auth_data: { public_key: 'abc' } });
    expect(created.status).toBe(200);
    version = created.body.version;
    const current = await t.http.get(`${V3}/room_keys/version`).set(u.auth);
    expectValidResponseById('getRoomKeysVersionCurrent', 200, current.body);
    expect(current.body).toMatchObject({ algorithm: ALG, version, count: 0 });
  });

  test('sessions are stored; only a better backup replaces one; etag changes with the keys', async () => {
    const put = (data: unknown) => t.http.put(`${V3}/room_keys/keys/!room:test.local/SESSION`).query({ version }).set(u.auth).send(data as object);
    const first = await put(session(5, 1, false, 'a'));
    expect(first.body.count).toBe(1);
    const worse = await put(session(6, 0, false, 'b'));
    expect(worse.body.etag).toBe(first.body.etag);
    const lowerIndex = await put(session(2, 3, false, 'c'));
    expect(lowerIndex.body.etag).not.toBe(first.body.etag);
    await put(session(9, 9, true, 'd'));
    const got = await t.http.get(`${V3}/room_keys/keys/!room:test.local/SESSION`).query({ version }).set(u.auth);
    expectValidResponseById('getRoomKeyBySessionId', 200, got.body);
    expect(got.body.session_data.ephemeral).toBe(base64ish('d'));
    const all = await t.http.get(`${V3}/room_keys/keys`).query({ version }).set(u.auth);
    expect(Object.keys(all.body.rooms)).toEqual(['!room:test.local']);
  });

  test('writing to an old version is M_WRONG_ROOM_KEYS_VERSION with the current version', async () => {
    const newer = (await t.http.post(`${V3}/room_keys/version`).set(u.auth).send({ algorithm: ALG, auth_data: { public_key: 'def' } })).body.version;
    const res = await t.http.put(`${V3}/room_keys/keys/!room:test.local/OTHERS`).query({ version }).set(u.auth).send(session(0, 0, false, 'x'));
    expect([res.status, res.body.errcode, res.body.current_version]).toEqual([403, 'M_WRONG_ROOM_KEYS_VERSION', newer]);
  });

  test('deleting a version removes its keys; bad bodies are refused', async () => {
    expect((await t.http.delete(`${V3}/room_keys/version/${version}`).set(u.auth)).status).toBe(200);
    expect((await t.http.get(`${V3}/room_keys/version/${version}`).set(u.auth)).status).toBe(404);
    expect(await t.hs.sql`SELECT 1 FROM key_backup_sessions WHERE version = ${Number(version)}`).toHaveLength(0);
    const bad = await t.http.post(`${V3}/room_keys/version`).set(u.auth).send({ algorithm: ALG });
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
  });
});
