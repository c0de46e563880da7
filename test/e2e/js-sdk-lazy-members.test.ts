/**
 * matrix-js-sdk's lazy-loading client (`lazyLoadMembers: true`) against a listening server: it never loads the
 * member list here, so everything it knows of members comes from /sync's lazy-loaded state. A sender who never spoke
 * before gets a name when they first speak; after a gappy (limited) sync, a member who joined in the gap is known and
 * an old member who starts speaking has a name. Without those member events the client shows bare user ids.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { ClientEvent, createClient, RoomEvent, SyncState, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { releaseLongTimers, silentLogger, trackLongTimers, waitFor } from '../support/e2e-clients.js';
import { roomHelpers } from '../support/rooms.js';

trackLongTimers();

let t: TestServer;
let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser, erin: TestUser;
let client: MatrixClient;
/** While set, a /sync response reaches carol's client only once it resolves (`held` resolves when one is waiting). */
let hold: { released: Promise<void>; held: () => void } | undefined;
let syncs = 0;

const { createRoom, join, send, setState } = roomHelpers(() => t.http);

beforeAll(async () => {
  t = await startTestServer();
  [alice, bob, carol, dave, erin] = [await registerUser(t, 'alice'), await registerUser(t, 'bob'), await registerUser(t, 'carol'), await registerUser(t, 'dave'), await registerUser(t, 'erin')];
  const fetchFn: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.pathname.endsWith('/sync')) {
      const res = await fetch(input, init);
      const h = hold;
      if (h) {
        h.held();
        await h.released;
      }
      syncs++;
      return res;
    }
    return fetch(input, init);
  };
  client = createClient({
    baseUrl: `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`,
    userId: carol.userId,
    deviceId: carol.deviceId,
    accessToken: carol.accessToken,
    logger: silentLogger,
    fetchFn,
  });
});

afterAll(async () => {
  client?.stopClient();
  releaseLongTimers();
  await t.close();
});

function seesEvent(roomId: string, eventId: string): Promise<MatrixEvent> {
  return waitFor([[client, [RoomEvent.Timeline]]], () => client.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getId() === eventId), `carol to see ${eventId}`);
}

test('names of senders and members who joined in a gap, from lazy-loaded members only', async () => {
  const roomId = await createRoom(alice, { preset: 'public_chat', name: 'Lazy sdk room' });
  for (const u of [bob, carol, dave]) await join(u, roomId);
  await setState(dave, roomId, 'm.room.member', dave.userId, { membership: 'join', displayname: 'Dave D' });
  await setState(bob, roomId, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Bobby' });
  for (let i = 0; i < 3; i++) await send(alice, roomId, `a${i}`);

  const ready = waitFor(
    [[client, [ClientEvent.Sync]]],
    () => ([SyncState.Prepared, SyncState.Syncing].includes(client.getSyncState()!) ? true : undefined),
    "carol's first sync",
  );
  void client.startClient({ lazyLoadMembers: true, initialSyncLimit: 2 });
  await ready;
  const room = await waitFor([[client, [ClientEvent.Room]]], () => client.getRoom(roomId) ?? undefined, 'the room');
  // Lazy loading is in effect: dave and bob never spoke, so the client has not been told of them.
  expect(room.getMember(dave.userId)).toBeNull();
  expect(room.getMember(alice.userId)?.membership).toBe('join');
  expect(room.getMember(carol.userId)?.membership).toBe('join');

  // Dave speaks for the first time (no gap): his member event comes with his message.
  const fromDave = await send(dave, roomId, 'd1');
  const seen = await seesEvent(roomId, fromDave);
  expect(seen.sender?.name).toBe('Dave D');

  // A gap: carol's next sync waits while erin joins, bob speaks once and alice sends more than the timeline limit.
  // The client's next /sync response is held back (the client sends no other meanwhile); what follows it makes the gap.
  let release!: () => void;
  let held!: () => void;
  const isHeld = new Promise<void>((r) => (held = r));
  hold = { released: new Promise<void>((r) => (release = r)), held };
  await send(alice, roomId, 'trigger');
  await isHeld;
  await join(erin, roomId);
  await send(bob, roomId, 'bobinthegap');
  const burst: string[] = [];
  for (let i = 0; i < 12; i++) burst.push(await send(alice, roomId, `burst${i}`));
  const before = syncs;
  hold = undefined;
  release();
  await seesEvent(roomId, burst.at(-1)!);
  expect(syncs).toBeGreaterThan(before);
  // Erin joined in the gap and never spoke: a membership change in a gap always comes.
  expect(client.getRoom(roomId)!.getMember(erin.userId)?.membership).toBe('join');

  // Bob, an old member whose only message fell in the gap, now speaks: his name comes with it.
  const fromBob = await send(bob, roomId, 'b2');
  expect((await seesEvent(roomId, fromBob)).sender?.name).toBe('Bobby');
}, 120_000);
