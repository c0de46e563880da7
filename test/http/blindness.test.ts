/**
 * Blindness on every byte, over HTTP as a hostile client would try it: plaintext next to ciphertext in room events,
 * reactions, redactions, to-device messages, uploaded keys and key backups is refused with 403 M_FORBIDDEN naming
 * the field, nothing of it is stored, and a scan of the whole database at the end finds none of the markers.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { plaintextTracker } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { makeDeviceKeys, oneTimeKeys } from '../support/device-keys.js';
import { enc, MEGOLM_ALGORITHM, V3 } from '../support/rooms.js';

/** `word` markers are base64-shaped (no spaces): they can only be refused for where they are, not how they look. */
const { all: markers, plain, word } = plaintextTracker();

const OLM = 'm.olm.v1.curve25519-aes-sha2';
const KEY = 'JTWoryJ81+GpnByV4Sa36ZsU2w2TVNN78LtgBtt9igk';
const megolm = (extra: Record<string, unknown> = {}) => ({ algorithm: MEGOLM_ALGORITHM, ciphertext: 'AwgAEqABL/vfTYMpop0gpA', session_id: KEY, sender_key: KEY, device_id: 'DEVICE', ...extra });
const olm = (extra: Record<string, unknown> = {}) => ({ algorithm: OLM, sender_key: KEY, ciphertext: { [KEY]: { type: 0, body: 'AwogOlmBody' } }, ...extra });

let t: TestServer;
let alice: TestUser;
let bob: TestUser;
let roomId: string;
let target: string;
let txn = 0;

beforeAll(async () => {
  t = await startTestServer();
  [alice, bob] = [await registerUser(t), await registerUser(t)];
  roomId = (await t.http.post(`${V3}/createRoom`).set(alice.auth).send({ preset: 'public_chat' })).body.room_id;
  expect((await t.http.post(`${V3}/join/${enc(roomId)}`).set(bob.auth).send({})).status).toBe(200);
  target = (await t.http.put(`${V3}/rooms/${enc(roomId)}/send/m.room.encrypted/t0`).set(alice.auth).send(megolm())).body.event_id;
});
afterAll(() => t.close());

async function tableCounts(): Promise<Record<string, number>> {
  const [row] = await t.hs.sql<Record<string, number>[]>`
    SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM to_device_inbox) AS inbox,
      (SELECT count(*)::int FROM device_keys) AS device_keys, (SELECT count(*)::int FROM one_time_keys) AS otks`;
  return row;
}

/** The request is refused with 403 M_FORBIDDEN naming `field`, and nothing was written. */
async function expectRefused(request: () => PromiseLike<{ status: number; body: { errcode?: string; error?: string } }>, field: string): Promise<void> {
  const before = await tableCounts();
  const res = await request();
  expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
  expect(res.body.error).toContain(field);
  expect(await tableCounts()).toEqual(before);
}

const send = (user: TestUser, type: string, content: unknown) => t.http.put(`${V3}/rooms/${enc(roomId)}/send/${enc(type)}/b${++txn}`).set(user.auth).send(content as object);
const toDevice = (type: string, content: unknown) =>
  t.http.put(`${V3}/sendToDevice/${enc(type)}/d${++txn}`).set(alice.auth).send({ messages: { [bob.userId]: { [bob.deviceId]: content } } });

describe('room events', () => {
  test.each([
    ['a body next to the ciphertext', () => megolm({ body: plain('body beside ciphertext') }), 'content.body'],
    ['an m.new_content', () => megolm({ 'm.new_content': { body: plain('edit in the clear') } }), 'content.m.new_content'],
    ['text in session_id', () => megolm({ session_id: plain('session id text') }), 'content.session_id'],
    ['text in ciphertext', () => megolm({ ciphertext: plain('not ciphertext') }), 'content.ciphertext'],
    ['text in device_id', () => megolm({ device_id: plain('device text') }), 'content.device_id'],
    ['a word as a relation id', () => megolm({ 'm.relates_to': { rel_type: 'm.thread', event_id: `$${word('relation id')}` } }), 'content.m.relates_to.event_id'],
    ['a key inside the relation', () => megolm({ 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: plain('encrypted reaction key') } }), 'content.m.relates_to.key'],
  ])('m.room.encrypted with %s is refused', async (_n, content, field) => {
    await expectRefused(() => send(alice, 'm.room.encrypted', content()), field);
  });

  test('the envelope real clients send is accepted, with its thread relation', async () => {
    const thread = { rel_type: 'm.thread', event_id: target, is_falling_back: true, 'm.in_reply_to': { event_id: target } };
    expect((await send(bob, 'm.room.encrypted', megolm({ 'm.relates_to': thread }))).status).toBe(200);
  });

  test('a reaction carries only its annotation with a short key; anything else is refused', async () => {
    expect((await send(bob, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' } })).status).toBe(200);
    await expectRefused(() => send(bob, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍' }, body: plain('reaction body') }), 'content.body');
    await expectRefused(() => send(bob, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: `${plain('long reaction key')} ${'x'.repeat(64)}` } }), 'content.m.relates_to.key');
    await expectRefused(() => send(bob, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: '👍', note: plain('relation note') } }), 'content.m.relates_to.note');
  });

  test('a redaction carries only the redacted id and a short reason, through /redact and through /send', async () => {
    await expectRefused(() => t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/x${++txn}`).set(alice.auth).send({ reason: 'spam', note: plain('redact note') }), 'content.note');
    await expectRefused(() => t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(target)}/x${++txn}`).set(alice.auth).send({ reason: `${plain('long reason')} ${'x'.repeat(600)}` }), 'content.reason');
    await expectRefused(() => send(alice, 'm.room.redaction', { redacts: target, body: plain('redaction body') }), 'content.body');
  });

  test('a plaintext message and an unknown event type are refused', async () => {
    await expectRefused(() => send(alice, 'm.room.message', { msgtype: 'm.text', body: plain('clear message') }), 'm.room.encrypted');
    await expectRefused(() => send(alice, 'org.example.note', { text: plain('custom type') }), 'm.room.encrypted');
  });
});

describe('to-device', () => {
  test.each(['m.room_key', 'm.forwarded_room_key', 'm.secret.send', 'm.room.message'])('%s in the clear is refused: it must be Olm-encrypted', async (type) => {
    await expectRefused(() => toDevice(type, { body: plain(`clear ${type}`), session_key: KEY }), `will not relay ${type} in the clear`);
  });

  test('an Olm envelope is relayed; extra keys, text and other algorithms inside it are refused', async () => {
    expect((await toDevice('m.room.encrypted', olm())).status).toBe(200);
    await expectRefused(() => toDevice('m.room.encrypted', olm({ body: plain('olm body') })), `messages.${bob.userId}.${bob.deviceId}.body`);
    await expectRefused(() => toDevice('m.room.encrypted', olm({ ciphertext: { [KEY]: { type: 0, body: plain('olm text') } } })), `ciphertext.${KEY}.body`);
    await expectRefused(() => toDevice('m.room.encrypted', olm({ algorithm: MEGOLM_ALGORITHM })), '.algorithm');
  });

  test('clear types from the allow-list keep their exact shape; unknown clear types are refused', async () => {
    expect((await toDevice('m.dummy', {})).status).toBe(200);
    await expectRefused(() => toDevice('m.dummy', { note: plain('dummy note') }), '.note');
    await expectRefused(() => toDevice('m.secret.request', { action: 'request', requesting_device_id: 'DEV', request_id: 'r1', name: plain('secret name') }), '.name');
    await expectRefused(() => toDevice('org.example.chat', { text: plain('unknown to-device') }), 'ALLOW_PLAINTEXT_TO_DEVICE');
  });

  test('one refused message refuses the whole send', async () => {
    await expectRefused(
      () => t.http.put(`${V3}/sendToDevice/m.room.encrypted/d${++txn}`).set(alice.auth).send({ messages: { [bob.userId]: { [bob.deviceId]: olm(), '*': olm({ body: plain('second message') }) } } }),
      '.body',
    );
  });
});

describe('keys and key backup', () => {
  test('device keys, one-time and fallback keys carry only what the spec defines', async () => {
    const keys = makeDeviceKeys(alice.userId, alice.deviceId);
    await expectRefused(() => t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ device_keys: { ...keys.deviceKeys, unsigned: { device_display_name: plain('display name in keys') } } }), 'device_keys.unsigned');
    await expectRefused(() => t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ device_keys: { ...keys.deviceKeys, note: plain('device key note') } }), 'device_keys.note');
    const [[id, otk]] = Object.entries(oneTimeKeys(keys, 1));
    await expectRefused(() => t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ one_time_keys: { [id]: { ...(otk as object), note: plain('otk note') } } }), `one_time_keys.${id}.note`);
    await expectRefused(() => t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ fallback_keys: { 'signed_curve25519:F': { key: plain('fallback text'), fallback: true, signatures: {} } } }), 'fallback_keys.signed_curve25519:F.key');
    expect((await t.http.post(`${V3}/keys/upload`).set(alice.auth).send({ device_keys: keys.deviceKeys, one_time_keys: oneTimeKeys(keys, 2) })).status).toBe(200);
  });

  test('cross-signing keys carry only user_id, usage, keys and signatures', async () => {
    const master = { user_id: alice.userId, usage: ['master'], keys: { [`ed25519:${KEY}`]: KEY }, note: plain('master key note') };
    await expectRefused(() => t.http.post(`${V3}/keys/device_signing/upload`).set(alice.auth).send({ master_key: master }), 'master_key.note');
  });

  test('a backup is only the known algorithm, and each session exactly {ciphertext, mac, ephemeral}', async () => {
    const ALG = 'm.megolm_backup.v1.curve25519-aes-sha2';
    const post = (body: unknown) => t.http.post(`${V3}/room_keys/version`).set(alice.auth).send(body as object);
    await expectRefused(() => post({ algorithm: 'org.example.clear', auth_data: { public_key: KEY } }), 'algorithm');
    await expectRefused(() => post({ algorithm: ALG, auth_data: { public_key: KEY, note: plain('auth data note') } }), 'auth_data.note');
    const created = await post({ algorithm: ALG, auth_data: { public_key: KEY } });
    expect(created.status).toBe(200);
    const version = created.body.version;
    const put = (data: unknown) => t.http.put(`${V3}/room_keys/keys/${enc(roomId)}/${enc(KEY)}`).query({ version }).set(alice.auth).send(data as object);
    const session = { ephemeral: KEY, ciphertext: 'AwgAEqABLw', mac: 'C/LlY+JMfyI' };
    const backup = (session_data: unknown) => ({ first_message_index: 0, forwarded_count: 0, is_verified: true, session_data });
    const refusedPut = async (data: unknown, field: string) => {
      const res = await put(backup(data));
      expect([res.status, res.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
      expect(res.body.error).toContain(field);
    };
    await refusedPut({ ...session, session_key: plain('backup session key') }, 'session_data.session_key');
    await refusedPut({ ...session, ciphertext: plain('backup ciphertext') }, 'session_data.ciphertext');
    await refusedPut(plain('backup as a string'), 'session_data');
    expect((await put(backup(session))).status).toBe(200);
    const stored = await t.hs.sql`SELECT session_data FROM key_backup_sessions WHERE user_id = ${alice.userId}`;
    expect(stored.map((s) => s.sessionData)).toEqual([session]);
  });
});

describe('the database', () => {
  test('holds none of the refused plaintext', async () => {
    expect(markers.length).toBeGreaterThan(30);
    await expectNoPlaintextInDatabase(t.hs.sql, markers);
  });
});
