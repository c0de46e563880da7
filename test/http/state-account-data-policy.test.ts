/**
 * Room state and account data under the blindness policy, over HTTP: what Element sets up (a room with its initial
 * state and power levels, a space, a widget, Element Call, its settings and secret storage) passes; what a hostile or
 * careless client puts beside it (text next to a join rule, a secret in the clear, a diary in custom account data,
 * a note in a tag) is refused with 403 M_FORBIDDEN naming the field, changes no table, and the database scan finds
 * none of it. With ALLOW_CUSTOM_STATE=off and ALLOW_CUSTOM_ACCOUNT_DATA=off, types outside the spec are refused too,
 * while the spec's types and secret-storage secrets still pass.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError } from '../support/spec.js';
import { plaintextTracker } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase } from '../support/db-scan.js';
import { changedTables, dbFingerprint } from '../support/db-state.js';
import { enc, MEGOLM_ALGORITHM, roomHelpers, V3, type Agent } from '../support/rooms.js';

const { all: markers, plain } = plaintextTracker();

let t: TestServer;
let strict: TestServer;
let alice: TestUser;
let strictAlice: TestUser;

beforeAll(async () => {
  [t, [alice]] = await startWithUsers(1);
  [strict, [strictAlice]] = await startWithUsers(1, { allowCustomState: false, allowCustomAccountData: false });
});
afterAll(async () => {
  await t?.close();
  await strict?.close();
});

const SSSS_KEY = 'Rjvbx1S0vAZsKWMYDUTOwtnUYE4KymZs';
const secret = { encrypted: { [SSSS_KEY]: { iv: 'k8aWxUr2vvKGj9DYiAdLLw==', ciphertext: 'u2vwbMFpg3Jl0uDU2x0plGqv5zKXlPHZ1fx0gWDuLCIJrSrB', mac: 'oqldrMkdWNfnCc80Gr/m0c5mnkTYdcpQ0EK7I2vBDYY=' } } };

const statePath = (roomId: string, type: string, key = '') => `${V3}/rooms/${enc(roomId)}/state/${enc(type)}/${enc(key)}`;
const globalPath = (u: TestUser, type: string) => `${V3}/user/${enc(u.userId)}/account_data/${enc(type)}`;
const roomPath = (u: TestUser, roomId: string, type: string) => `${V3}/user/${enc(u.userId)}/rooms/${enc(roomId)}/account_data/${enc(type)}`;

/** What Element's createRoom sends for an encrypted room with restricted joins, a name, and power levels for calls. */
function elementCreateRoom(spaceId?: string): Record<string, unknown> {
  return {
    preset: 'private_chat',
    name: 'Team',
    topic: 'Plans',
    creation_content: { 'm.federate': true },
    initial_state: [
      { type: 'm.room.encryption', state_key: '', content: { algorithm: MEGOLM_ALGORITHM } },
      { type: 'm.room.history_visibility', content: { history_visibility: 'shared' } },
      { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'forbidden' } },
      ...(spaceId
        ? [
            { type: 'm.room.join_rules', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: spaceId }] } },
            { type: 'm.space.parent', state_key: 'test.local', content: { via: ['test.local'], canonical: true } },
          ]
        : []),
    ],
    power_level_content_override: { events: { 'org.matrix.msc3401.call.member': 0, 'im.vector.modular.widgets': 50, 'io.element.widgets.layout': 50 } },
  };
}

async function setUp(http: Agent, u: TestUser): Promise<{ space: string; room: string }> {
  const rooms = roomHelpers(() => http);
  const space = await rooms.createRoom(u, { preset: 'private_chat', name: 'Space', creation_content: { type: 'm.space' }, power_level_content_override: { events_default: 100 } });
  const room = await rooms.createRoom(u, elementCreateRoom(space));
  await rooms.setState(u, space, 'm.space.child', room, { via: ['test.local'], suggested: false });
  await rooms.setState(u, room, 'm.room.pinned_events', '', { pinned: [] });
  await rooms.setState(u, room, 'm.room.avatar', '', { url: 'mxc://test.local/abcDEF', info: { w: 64, h: 64, mimetype: 'image/png', size: 100 } });
  return { space, room };
}

/** The request is refused 403 M_FORBIDDEN naming `field`, and no table changed. */
async function expectRefused(server: TestServer, request: () => PromiseLike<{ status: number; body: { errcode?: string; error?: string } }>, field: string): Promise<void> {
  const before = await dbFingerprint(server.hs.sql);
  const res = await request();
  expect([res.status, res.body.errcode, res.body.error]).toEqual([403, 'M_FORBIDDEN', expect.stringContaining(field)]);
  expectMatrixError(res.body, 'M_FORBIDDEN');
  expect(changedTables(before, await dbFingerprint(server.hs.sql))).toEqual([]);
}

const put = (server: TestServer, u: TestUser, path: string, body: unknown) => server.http.put(path).set(u.auth).send(body as object);

describe('what Element sets up passes', () => {
  test('a space, a room in it with Element\'s initial state and power levels, a widget, Element Call, settings and secret storage', async () => {
    const { room } = await setUp(t.http, alice);
    const ok = async (path: string, body: unknown) => expect([path, (await put(t, alice, path, body)).status]).toEqual([path, 200]);
    await ok(statePath(room, 'im.vector.modular.widgets', 'w1'), { type: 'jitsi', url: 'https://app.element.io/jitsi.html', name: 'Jitsi', data: { conferenceId: 'abc' }, id: 'w1', creatorUserId: alice.userId });
    await ok(statePath(room, 'io.element.widgets.layout'), { widgets: { w1: { container: 'top', index: 0, width: 100, height: 40 } } });
    await ok(statePath(room, 'org.matrix.msc3401.call.member', `_${alice.userId}_${alice.deviceId}`), {
      application: 'm.call', call_id: '', scope: 'm.room', device_id: alice.deviceId, expires: 14400000, focus_active: { type: 'livekit', focus_selection: 'oldest_membership' }, foci_preferred: [],
    });
    await ok(statePath(room, 'm.room.member', alice.userId), { membership: 'join', displayname: 'Alice in this room' });
    for (const type of ['m.cross_signing.master', 'm.cross_signing.self_signing', 'm.cross_signing.user_signing', 'm.megolm_backup.v1']) await ok(globalPath(alice, type), secret);
    await ok(globalPath(alice, `m.secret_storage.key.${SSSS_KEY}`), { algorithm: 'm.secret_storage.v1.aes-hmac-sha2', iv: 'k8aWxUr2vvKGj9DYiAdLLw==', mac: 'oqldrMkdWNfnCc80Gr/m0c5mnkTYdcpQ0EK7I2vBDYY=' });
    await ok(globalPath(alice, 'm.secret_storage.default_key'), { key: SSSS_KEY });
    await ok(globalPath(alice, 'm.direct'), { [alice.userId]: [room] });
    await ok(globalPath(alice, 'im.vector.analytics'), { pseudonymousAnalyticsOptIn: false });
    await ok(globalPath(alice, 'im.vector.setting.breadcrumbs'), { recent_rooms: [room] });
    await ok(globalPath(alice, 'io.element.recent_emoji'), { recent_emoji: [['👍', 1]] });
    await ok(roomPath(alice, room, 'm.marked_unread'), { unread: false });
    await ok(`${V3}/user/${enc(alice.userId)}/rooms/${enc(room)}/tags/m.favourite`, { order: 0.25 });
    // matrix-js-sdk clears a secret by writing {}.
    await ok(globalPath(alice, 'm.megolm_backup.v1'), {});
  });
});

describe('what a hostile or careless client puts beside it is refused, and stored nowhere', () => {
  let room: string;
  beforeAll(async () => {
    ({ room } = await setUp(t.http, alice));
  });

  test('room state: text beside spec fields, a message as state, oversized custom state', async () => {
    await expectRefused(t, () => put(t, alice, statePath(room, 'm.room.join_rules'), { join_rule: 'invite', note: plain('join rule note') }), 'content.note');
    await expectRefused(t, () => put(t, alice, statePath(room, 'm.room.topic'), { topic: 'x', body: plain('topic body') }), 'content.body');
    await expectRefused(t, () => put(t, alice, statePath(room, 'm.room.power_levels'), { users: { [alice.userId]: 100 }, why: plain('power note') }), 'content.why');
    await expectRefused(t, () => put(t, alice, statePath(room, 'm.room.member', alice.userId), { membership: 'join', bio: plain('member bio') }), 'content.bio');
    await expectRefused(t, () => put(t, alice, statePath(room, 'm.room.message', 'x'), { msgtype: 'm.text', body: plain('message as state') }), 'message event');
    await expectRefused(t, () => put(t, alice, statePath(room, 'org.example.diary'), { entry: `${plain('diary')} ${'x'.repeat(5000)}` }), 'content');
    await expectRefused(t, () => t.http.post(`${V3}/createRoom`).set(alice.auth).send({ creation_content: { note: plain('creation note') } }), 'creation_content.note');
    await expectRefused(t, () => t.http.post(`${V3}/createRoom`).set(alice.auth).send({ power_level_content_override: { note: plain('override note') } }), 'content.note');
    await expectRefused(t, () => t.http.post(`${V3}/rooms/${enc(room)}/leave`).set(alice.auth).send({ reason: `${plain('leave reason')} ${'r'.repeat(600)}` }), 'content.reason');
  });

  test('account data: secrets in the clear, text beside spec fields, a diary in custom data, a note in a tag', async () => {
    await expectRefused(t, () => put(t, alice, globalPath(alice, 'm.cross_signing.master'), { privateKey: plain('master key') }), 'content.privateKey');
    await expectRefused(t, () => put(t, alice, globalPath(alice, 'm.megolm_backup.v1'), { encrypted: { [SSSS_KEY]: { ...secret.encrypted[SSSS_KEY], hint: plain('backup hint') } } }), 'hint');
    await expectRefused(t, () => put(t, alice, globalPath(alice, 'm.direct'), { [alice.userId]: [room], note: [plain('direct note')] }), 'content.note');
    await expectRefused(t, () => put(t, alice, globalPath(alice, 'm.ignored_user_list'), { ignored_users: { '@troll:test.local': { reason: plain('ignore reason') } } }), 'reason');
    await expectRefused(t, () => put(t, alice, globalPath(alice, 'org.example.diary'), { entry: `${plain('custom diary')} ${'x'.repeat(17000)}` }), 'content');
    await expectRefused(t, () => put(t, alice, roomPath(alice, room, 'm.marked_unread'), { unread: true, why: plain('unread why') }), 'content.why');
    await expectRefused(t, () => put(t, alice, `${V3}/user/${enc(alice.userId)}/rooms/${enc(room)}/tags/u.work`, { order: 0.5, note: plain('tag note') }), 'content.note');
    await expectNoPlaintextInDatabase(t.hs.sql, markers);
  });
});

describe('ALLOW_CUSTOM_STATE=off and ALLOW_CUSTOM_ACCOUNT_DATA=off', () => {
  test('types outside the spec are refused; the spec\'s types and secrets pass', async () => {
    const { room } = await setUp(strict.http, strictAlice);
    await expectRefused(strict, () => put(strict, strictAlice, statePath(room, 'im.vector.modular.widgets', 'w1'), { type: 'jitsi', url: 'https://x' }), 'ALLOW_CUSTOM_STATE is off');
    await expectRefused(strict, () => put(strict, strictAlice, globalPath(strictAlice, 'im.vector.analytics'), { pseudonymousAnalyticsOptIn: false }), 'ALLOW_CUSTOM_ACCOUNT_DATA is off');
    await expectRefused(strict, () => put(strict, strictAlice, roomPath(strictAlice, room, 'org.example.cfg'), { colour: 'blue' }), 'ALLOW_CUSTOM_ACCOUNT_DATA is off');
    for (const [path, body] of [
      [globalPath(strictAlice, 'm.cross_signing.master'), secret],
      [globalPath(strictAlice, 'org.matrix.msc3814'), secret],
      [globalPath(strictAlice, 'm.direct'), { [strictAlice.userId]: [room] }],
      [roomPath(strictAlice, room, 'm.marked_unread'), { unread: true }],
      [statePath(room, 'm.room.name'), { name: 'Still named' }],
    ] as const) {
      expect([path, (await put(strict, strictAlice, path, body)).status]).toEqual([path, 200]);
    }
  });
});
