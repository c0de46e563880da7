/**
 * In-room verification steps over HTTP, as a hostile or careless client would send them: every step
 * (m.key.verification.ready, .start, ...) must answer, by its m.reference, an m.key.verification.request of the same
 * room that its sender is part of (sent it, or is its `to`). A step pointing at nothing, at an encrypted message, at a
 * request in another room, at a redacted request, or at a request between two other users is refused with 403
 * M_FORBIDDEN and changes no table. (test/e2e/verification.test.ts runs the whole SAS flow with matrix-js-sdk.)
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startWithUsers, type TestServer, type TestUser } from '../support/server.js';
import { expectMatrixError } from '../support/spec.js';
import { changedTables, dbFingerprint } from '../support/db-state.js';
import { roomHelpers } from '../support/rooms.js';

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser;
let roomId: string;
const rooms = roomHelpers(() => t.http);

beforeAll(async () => {
  [t, [alice, bob, carol]] = await startWithUsers(3);
  roomId = await rooms.createRoom(alice, { preset: 'public_chat' });
  for (const u of [bob, carol]) await rooms.join(u, roomId);
});
afterAll(() => t.close());

const request = (from: TestUser, to: TestUser) => ({
  msgtype: 'm.key.verification.request', body: `${from.userId} is requesting to verify your key`, from_device: from.deviceId, methods: ['m.sas.v1'], to: to.userId,
});
const ready = (u: TestUser, requestId: string) => ({ from_device: u.deviceId, methods: ['m.sas.v1'], 'm.relates_to': { rel_type: 'm.reference', event_id: requestId } });

async function expectRefused(u: TestUser, room: string, content: Record<string, unknown>, problem: string): Promise<void> {
  const before = await dbFingerprint(t.hs.sql);
  const res = await t.http.put(`/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.key.verification.ready/r${Math.random()}`).set(u.auth).send(content);
  expect([res.status, res.body.errcode, res.body.error]).toEqual([403, 'M_FORBIDDEN', expect.stringContaining(problem)]);
  expectMatrixError(res.body, 'M_FORBIDDEN');
  expect(changedTables(before, await dbFingerprint(t.hs.sql))).toEqual([]);
}

describe('a verification step answers a real request of its room', () => {
  test('the two parties answer their request: ready from the one asked, done from either', async () => {
    const req = await rooms.sendEvent(alice, roomId, 'm.room.message', request(alice, bob));
    await rooms.sendEvent(bob, roomId, 'm.key.verification.ready', ready(bob, req));
    await rooms.sendEvent(alice, roomId, 'm.key.verification.done', { 'm.relates_to': { rel_type: 'm.reference', event_id: req } });
    await rooms.sendEvent(bob, roomId, 'm.key.verification.cancel', { code: 'm.user', reason: 'The user cancelled the verification.', 'm.relates_to': { rel_type: 'm.reference', event_id: req } });
  });

  test('a hostile client cannot join someone else\'s verification, nor point a step anywhere else', async () => {
    const req = await rooms.sendEvent(alice, roomId, 'm.room.message', request(alice, bob));
    await expectRefused(carol, roomId, ready(carol, req), 'between two other users');
    await expectRefused(bob, roomId, ready(bob, `$${'A'.repeat(43)}`), 'must name an m.key.verification.request in this room');
    const encrypted = await rooms.send(alice, roomId, 'notarequest');
    await expectRefused(bob, roomId, ready(bob, encrypted), 'must name an m.key.verification.request in this room');
    const other = await rooms.createRoom(alice, { preset: 'public_chat' });
    await rooms.join(bob, other);
    const elsewhere = await rooms.sendEvent(alice, other, 'm.room.message', request(alice, bob));
    await expectRefused(bob, roomId, ready(bob, elsewhere), 'must name an m.key.verification.request in this room');
    const redacted = await rooms.sendEvent(alice, roomId, 'm.room.message', request(alice, bob));
    await rooms.redact(alice, roomId, redacted);
    await expectRefused(bob, roomId, ready(bob, redacted), 'must name an m.key.verification.request in this room');
  });

  test('a careless client answering the wrong event (a reaction, a step) is refused', async () => {
    const req = await rooms.sendEvent(alice, roomId, 'm.room.message', request(alice, bob));
    const step = await rooms.sendEvent(bob, roomId, 'm.key.verification.ready', ready(bob, req));
    await expectRefused(alice, roomId, ready(alice, step), 'must name an m.key.verification.request in this room');
    const reaction = await rooms.sendEvent(bob, roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: req, key: '👍' } });
    await expectRefused(alice, roomId, ready(alice, reaction), 'must name an m.key.verification.request in this room');
  });
});
