/**
 * Redaction and erasure remove content from every copy the server keeps: the event row, the prev_content of the state
 * event that replaced it, the redacted_because that carries a redaction's reason, the edits of a message, what a
 * second server process has cached, and, for an account deactivated with erase: true, every message and membership
 * profile copy of the user, their profile and their key backup. Each test ends with a scan of the whole database.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { registerUser, startSecondServer, startTestServer, type SecondServer, type TestServer, type TestUser } from '../support/server.js';
import { withPasswordUia } from '../support/accounts.js';
import { plaintextTracker } from '../support/e2e-clients.js';
import { expectNoPlaintextInDatabase, scanDatabase } from '../support/db-scan.js';
import { enc, MEGOLM_ALGORITHM, roomHelpers, V3 } from '../support/rooms.js';

const { plain, word } = plaintextTracker();
/** A marker that fits in base64 (no spaces): for ciphertext fields. */

const KEY = 'JTWoryJ81+GpnByV4Sa36ZsU2w2TVNN78LtgBtt9igk';
const megolm = (ciphertext: string, extra: Record<string, unknown> = {}) => ({ algorithm: MEGOLM_ALGORITHM, ciphertext, session_id: KEY, sender_key: KEY, device_id: 'DEVICE', ...extra });

let t: TestServer;
let b: SecondServer;
let alice: TestUser;
let bob: TestUser;
let txn = 0;

beforeAll(async () => {
  t = await startTestServer();
  b = await startSecondServer(t.database.url);
  [alice, bob] = [await registerUser(t), await registerUser(t)];
});
afterAll(async () => {
  await b?.close();
  await t?.close();
});

/** Waits (bounded) until `check` holds: for what another process does when a NOTIFY reaches it. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const createRoom = (user: TestUser) => roomHelpers(() => t.http).createRoom(user, { preset: 'public_chat' });
async function send(user: TestUser, roomId: string, type: string, content: unknown, via: { http: TestServer['http'] } = t): Promise<string> {
  const res = await via.http.put(`${V3}/rooms/${enc(roomId)}/send/${enc(type)}/e${++txn}`).set(user.auth).send(content as object);
  expect(res.status).toBe(200);
  return res.body.event_id;
}
async function setState(user: TestUser, roomId: string, type: string, content: unknown, via: { http: TestServer['http'] } = t): Promise<string> {
  const res = await via.http.put(`${V3}/rooms/${enc(roomId)}/state/${enc(type)}`).set(user.auth).send(content as object);
  expect(res.status).toBe(200);
  return res.body.event_id;
}
async function redact(user: TestUser, roomId: string, eventId: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.http.put(`${V3}/rooms/${enc(roomId)}/redact/${enc(eventId)}/x${++txn}`).set(user.auth).send(body);
  expect(res.status).toBe(200);
  return res.body.event_id;
}
/** Everything a member can read about the room: full state, the timeline (with bundles) and an initial sync. */
async function everythingServed(user: TestUser, roomId: string, via: { http: TestServer['http'] } = t): Promise<string> {
  const state = await via.http.get(`${V3}/rooms/${enc(roomId)}/state`).set(user.auth);
  const messages = await via.http.get(`${V3}/rooms/${enc(roomId)}/messages`).query({ dir: 'b', limit: 100 }).set(user.auth);
  const sync = await via.http.get(`${V3}/sync`).set(user.auth);
  for (const res of [state, messages, sync]) expect(res.status).toBe(200);
  return JSON.stringify([state.body, messages.body, sync.body]);
}

describe('redaction removes content from every copy', () => {
  test("a redacted state event's content leaves the next state event's prev_content", async () => {
    const roomId = await createRoom(alice);
    const secret = plain('old topic');
    const first = await setState(alice, roomId, 'm.room.topic', { topic: secret });
    await setState(alice, roomId, 'm.room.topic', { topic: 'a newer topic' });
    expect(await everythingServed(alice, roomId)).toContain(secret);
    await redact(alice, roomId, first);
    expect(await everythingServed(alice, roomId)).not.toContain(secret);
    // The next writer's cached state (this process) does not bring it back either.
    await setState(alice, roomId, 'm.room.topic', { topic: 'the newest topic' });
    await expectNoPlaintextInDatabase(t.hs.sql, [secret]);
  });

  test('a redacted current state event is not copied into the prev_content of the next one', async () => {
    const roomId = await createRoom(alice);
    const secret = plain('current topic');
    const current = await setState(alice, roomId, 'm.room.topic', { topic: secret });
    await redact(alice, roomId, current);
    await setState(alice, roomId, 'm.room.topic', { topic: 'after the redaction' });
    expect(await everythingServed(alice, roomId)).not.toContain(secret);
    await expectNoPlaintextInDatabase(t.hs.sql, [secret]);
  });

  test("redacting a redaction removes its reason from the redacted event's redacted_because", async () => {
    const roomId = await createRoom(alice);
    const message = await send(alice, roomId, 'm.room.encrypted', megolm('AwgAEqABLw'));
    const reason = plain('redaction reason');
    const redaction = await redact(alice, roomId, message, { reason });
    expect(await everythingServed(alice, roomId)).toContain(reason);
    await redact(alice, roomId, redaction);
    expect(await everythingServed(alice, roomId)).not.toContain(reason);
    await expectNoPlaintextInDatabase(t.hs.sql, [reason]);
  });

  test("redacting a message removes its sender's edits (every version of it), not others' replies", async () => {
    const roomId = await createRoom(alice);
    await expect(t.http.post(`${V3}/join/${enc(roomId)}`).set(bob.auth).send({})).resolves.toMatchObject({ status: 200 });
    const original = word('original ciphertext');
    const edited = word('edited ciphertext');
    const reply = word('reply ciphertext');
    const message = await send(alice, roomId, 'm.room.encrypted', megolm(original));
    await send(alice, roomId, 'm.room.encrypted', megolm(edited, { 'm.relates_to': { rel_type: 'm.replace', event_id: message } }));
    await send(bob, roomId, 'm.room.encrypted', megolm(reply, { 'm.relates_to': { 'm.in_reply_to': { event_id: message } } }));
    await redact(alice, roomId, message);
    const served = await everythingServed(alice, roomId);
    expect(served).not.toContain(original);
    expect(served).not.toContain(edited);
    expect(served).toContain(reply);
    await expectNoPlaintextInDatabase(t.hs.sql, [original, edited]);
  });

  test('another server process that cached the room state serves and writes none of it', async () => {
    const roomId = await createRoom(alice);
    // Process B writes to the room first: it caches the room's state at that head.
    await setState(alice, roomId, 'm.room.name', { name: 'cached by B' }, b);
    const secret = plain('topic seen by B');
    const first = await setState(alice, roomId, 'm.room.topic', { topic: secret }, b);
    await setState(alice, roomId, 'm.room.topic', { topic: 'replaced on B' }, b);
    // Process A redacts it; B's cached state is at an older head, and B drops it as soon as it hears of A's write.
    const [{ lastEventId: headOnB }] = await t.hs.sql<{ lastEventId: string }[]>`SELECT last_event_id FROM rooms WHERE room_id = ${roomId}`;
    expect(b.hs.roomStates.take(roomId, headOnB)).toBeDefined();
    await redact(alice, roomId, first);
    await until(() => b.hs.roomStates.take(roomId, headOnB) === undefined, "B to drop its cached state of the room");
    await setState(alice, roomId, 'm.room.topic', { topic: 'written by B afterwards' }, b);
    await send(alice, roomId, 'm.room.encrypted', megolm('AwgAEqABLw'), b);
    expect(await everythingServed(alice, roomId, b)).not.toContain(secret);
    await expectNoPlaintextInDatabase(t.hs.sql, [secret]);
  });
});

describe('POST /account/deactivate with erase: true', () => {
  test("removes the ciphertext of all the user's events, their profile copies, their profile and their key backup", async () => {
    const carol = await registerUser(t);
    const displayName = plain('carol display name');
    expect((await t.http.put(`${V3}/profile/${enc(carol.userId)}/displayname`).set(carol.auth).send({ displayname: displayName })).status).toBe(200);
    const stays = await createRoom(alice);
    const left = await createRoom(alice);
    for (const roomId of [stays, left]) expect((await t.http.post(`${V3}/join/${enc(roomId)}`).set(carol.auth).send({})).status).toBe(200);
    const markers = [displayName];
    const ciphertext = (what: string) => {
      const text = word(what);
      markers.push(text);
      return text;
    };
    const message = await send(carol, stays, 'm.room.encrypted', megolm(ciphertext('carol message')));
    await send(carol, stays, 'm.room.encrypted', megolm(ciphertext('carol edit'), { 'm.relates_to': { rel_type: 'm.replace', event_id: message } }));
    const reactionKey = plain('carol reaction');
    markers.push(reactionKey.slice(0, 60));
    await send(carol, stays, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: message, key: reactionKey.slice(0, 60) } });
    await send(carol, left, 'm.room.encrypted', megolm(ciphertext('carol in the room she left')));
    expect((await t.http.post(`${V3}/rooms/${enc(left)}/leave`).set(carol.auth).send({})).status).toBe(200);
    const backup = await t.http.post(`${V3}/room_keys/version`).set(carol.auth).send({ algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: KEY } });
    const sessionData = { ephemeral: KEY, ciphertext: ciphertext('carol backup'), mac: 'C/LlY+JMfyI' };
    expect((await t.http.put(`${V3}/room_keys/keys/${enc(stays)}/${enc(KEY)}`).query({ version: backup.body.version }).set(carol.auth)
      .send({ first_message_index: 0, forwarded_count: 0, is_verified: true, session_data: sessionData })).status).toBe(200);
    // Before: every marker is somewhere in the database (the scan sees them).
    const before = (await scanDatabase(t.hs.sql, markers)).found;
    expect(new Set(before.map((f) => f.slice(f.indexOf(': ') + 2))).size).toBe(markers.length);

    const res = await withPasswordUia(t, 'post', `${V3}/account/deactivate`, carol, { erase: true });
    expect(res.status).toBe(200);

    await expectNoPlaintextInDatabase(t.hs.sql, markers);
    for (const roomId of [stays, left]) expect(await everythingServed(alice, roomId)).not.toContain(displayName);
    // The rooms keep working: alice writes on both processes and reads what she wrote.
    const after = await send(alice, stays, 'm.room.encrypted', megolm('AwgAEqABLafter'), b);
    await setState(alice, left, 'm.room.topic', { topic: 'still works' });
    const read = await t.http.get(`${V3}/rooms/${enc(stays)}/event/${enc(after)}`).set(alice.auth);
    expect(read.status).toBe(200);
    const erased = await t.http.get(`${V3}/rooms/${enc(stays)}/event/${enc(message)}`).set(alice.auth);
    expect(erased.body.content).toEqual({});
    expect(erased.body.unsigned.redacted_because).toMatchObject({ type: 'm.room.redaction', sender: carol.userId });
  });

  test('clients that already synced the erased events get a redaction for each, in the rooms the user was still in', async () => {
    const dave = await registerUser(t);
    const open = await createRoom(alice);
    // A room whose power levels let nobody but its admins redact: erasure still removes the content, in place.
    const strict = await createRoom(alice);
    // (A v12 room: alice, its creator, has unlimited power and may not be listed in users.)
    await setState(alice, strict, 'm.room.power_levels', { events: { 'm.room.redaction': 100 } });
    for (const roomId of [open, strict]) expect((await t.http.post(`${V3}/join/${enc(roomId)}`).set(dave.auth).send({})).status).toBe(200);
    const messages = [await send(dave, open, 'm.room.encrypted', megolm(word('dave one'))), await send(dave, open, 'm.room.encrypted', megolm(word('dave two')))];
    const reaction = await send(dave, open, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: messages[0], key: 'x' } });
    const unredactable = await send(dave, strict, 'm.room.encrypted', megolm(word('dave strict')));
    const since = (await t.http.get(`${V3}/sync`).set(alice.auth)).body.next_batch;

    expect((await withPasswordUia(t, 'post', `${V3}/account/deactivate`, dave, { erase: true })).status).toBe(200);

    const res = await t.http.get(`${V3}/sync`).query({ since, timeout: 0 }).set(alice.auth);
    expect(res.status).toBe(200);
    const timeline = (roomId: string) => (res.body.rooms.join[roomId]?.timeline.events ?? []) as { type: string; sender: string; content: Record<string, unknown>; redacts?: string; event_id: string }[];
    const redacted = timeline(open).filter((e) => e.type === 'm.room.redaction').map((e) => ({ sender: e.sender, redacts: e.content.redacts ?? e.redacts }));
    expect(redacted).toEqual(expect.arrayContaining([...messages, reaction].map((id) => ({ sender: dave.userId, redacts: id }))));
    // Dave's own join (with his display name) went the same way, and then he left.
    const memberEvents = (await t.http.get(`${V3}/rooms/${enc(open)}/messages`).query({ dir: 'b', limit: 100 }).set(alice.auth)).body.chunk
      .filter((e: { type: string; state_key?: string }) => e.type === 'm.room.member' && e.state_key === dave.userId);
    for (const e of memberEvents) expect(Object.keys(e.content).sort()).toEqual(['membership']);
    // Where dave could not redact: no redaction event, yet nothing of the message is left.
    expect(timeline(strict).filter((e) => e.type === 'm.room.redaction')).toEqual([]);
    expect((await t.http.get(`${V3}/rooms/${enc(strict)}/event/${enc(unredactable)}`).set(alice.auth)).body.content).toEqual({});
  });
});
