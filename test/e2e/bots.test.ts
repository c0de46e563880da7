/**
 * The bot runtime in-process against a listening server: a matrix-js-sdk user with Rust crypto invites the echo
 * bot, which joins and answers her encrypted messages with encrypted replies; the bot is stopped and started
 * again from its data directory and is still the same device that still answers, also after a server restart.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ClientEvent, MatrixEventEvent, RoomEvent, SyncState, type MatrixEvent } from 'matrix-js-sdk';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoBot } from '../../bots/echo/echo.js';
import type { BotConfig } from '../../bots/config.js';
import { setSdkLogLevel, silentBotLogger } from '../../bots/log.js';
import type { Bot } from '../../bots/runtime.js';
import { registerUser, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { baseUrlOf, cryptoClient, invitedRoom, seesMembership, startSyncing, stopAll, trackLongTimers, waitFor, type E2eClient } from '../support/e2e-clients.js';

trackLongTimers();
setSdkLogLevel('silent');

let t: TestServer;
let aliceUser: TestUser;
let botUser: TestUser;
let alice: E2eClient;
let dataDir: string;
let bot: Bot | undefined;
let roomId: string;

beforeAll(async () => {
  t = await startTestServer();
  aliceUser = await registerUser(t, 'alice');
  botUser = await registerUser(t, 'echobot', 'bot password');
  alice = await cryptoClient(t, aliceUser, 'alice');
  await startSyncing(alice);
  dataDir = await mkdtemp(join(tmpdir(), 'securecomm-echo-'));
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  stopAll();
  await t?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function botConfig(): BotConfig {
  return { homeserverUrl: baseUrlOf(t), dataDir, user: 'echobot', password: botUser.password, logger: silentBotLogger };
}

/** Waits until alice holds a decrypted message from the bot, in reply to `eventId`. */
function replyTo(eventId: string): Promise<MatrixEvent> {
  return waitFor(
    [[alice.client, [RoomEvent.Timeline, MatrixEventEvent.Decrypted]]],
    () =>
      alice.client
        .getRoom(roomId)
        ?.getLiveTimeline()
        .getEvents()
        .find((e) => e.getSender() === bot?.userId && e.getType() === 'm.room.message' && e.getContent()['m.relates_to']?.['m.in_reply_to']?.event_id === eventId),
    `the bot's reply to ${eventId}`,
  );
}

async function sendAndExpectEcho(text: string): Promise<void> {
  const { event_id } = await alice.client.sendTextMessage(roomId, text);
  const reply = await replyTo(event_id);
  expect(reply.getWireType()).toBe('m.room.encrypted');
  expect(reply.isDecryptionFailure()).toBe(false);
  expect(reply.getContent().body).toBe(`echo: ${text}`);
  expect(reply.getContent().msgtype).toBe('m.notice');
}

describe('echo bot', () => {
  test('joins on invite and answers encrypted messages with encrypted replies', async () => {
    bot = await startEchoBot(botConfig());
    expect(bot.userId).toBe(botUser.userId);
    // The session file holds the access token: owner-only.
    const session = join(dataDir, 'session.json');
    expect((await stat(session)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(session, 'utf8')).deviceId).toBe(bot.deviceId);

    roomId = (await alice.client.createRoom({ name: 'echo room', invite: [bot.userId] })).room_id;
    await seesMembership(alice, roomId, bot.userId, 'join');
    await sendAndExpectEcho('hello bot');
    await sendAndExpectEcho('second message');
  }, 60_000);

  test('restarted from its data directory, the bot is the same device and still answers', async () => {
    const firstDevice = bot!.deviceId;
    await bot!.stop();
    const devicesBefore = (await alice.client.getCrypto()!.getUserDeviceInfo([botUser.userId], true)).get(botUser.userId)!;

    bot = await startEchoBot(botConfig());
    expect(bot.deviceId).toBe(firstDevice);
    // No new device appeared on the server: the bot's device list is the same.
    const res = await t.http.get('/_matrix/client/v3/devices').set({ Authorization: `Bearer ${bot.client.getAccessToken()}` });
    expect(res.status).toBe(200);
    expect((res.body.devices as { device_id: string }[]).map((d) => d.device_id).sort()).toEqual([botUser.deviceId, firstDevice].sort());
    expect([...devicesBefore.keys()]).toContain(firstDevice);

    await sendAndExpectEcho('after the restart');
  }, 60_000);

  test('a message sent while the bot was stopped is answered when it comes back', async () => {
    await bot!.stop();
    const { event_id } = await alice.client.sendTextMessage(roomId, 'while you were away');
    bot = await startEchoBot(botConfig());
    const reply = await replyTo(event_id);
    expect(reply.getContent().body).toBe('echo: while you were away');
  }, 60_000);

  test('the bot rides out a server restart and answers afterwards', async () => {
    const port = (t.server.address() as AddressInfo).port;
    const states: string[] = [];
    bot!.client.on(ClientEvent.Sync, (state) => states.push(state));
    // Take the server away (every open connection, the bot's long-poll included), then bring it back on the same port.
    await new Promise<void>((resolve) => {
      t.server.close(() => resolve());
      t.server.closeAllConnections();
    });
    // The bot notices (its sync fails) before the server comes back.
    await waitFor([[bot!.client, [ClientEvent.Sync]]], () => (states.some((s) => s === SyncState.Reconnecting || s === SyncState.Error) ? true : undefined), 'the bot to lose its sync');
    await new Promise<void>((resolve) => t.server.listen(port, '127.0.0.1', resolve));
    // Both clients' sync loops come back by themselves (the sdk's keep-alive retries with backoff).
    const lost = states.length;
    await waitFor([[bot!.client, [ClientEvent.Sync]]], () => (states.slice(lost).includes(SyncState.Syncing) ? true : undefined), 'the bot to sync again', 60_000);
    await waitFor([[alice.client, [ClientEvent.Sync]]], () => (alice.client.getSyncState() === SyncState.Syncing ? true : undefined), 'alice to sync again', 60_000);
    await sendAndExpectEcho('after the server restart');
  }, 90_000);
});
