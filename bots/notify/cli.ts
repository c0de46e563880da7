#!/usr/bin/env node
/**
 * securecomm-notify: sends one end-to-end encrypted message into a room, for shell scripts, cron jobs and CI.
 * It waits until the room key has reached the devices of the room's members and the message is on the server,
 * then exits: 0 on success (the event id on standard output), 1 with a one-line reason otherwise, 2 on bad usage.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClientEvent } from 'matrix-js-sdk';
import { BotError } from '../config.js';
import { quietSdkConsole, setSdkLogLevel, silentBotLogger, stderrLogger } from '../log.js';
import { startBot, type Bot } from '../runtime.js';

const USAGE = `usage: securecomm-notify [options] ROOM [MESSAGE...]

Sends MESSAGE (or, without one, standard input) encrypted into ROOM (a room id !... or an alias #...).

options (environment variable in brackets):
  -s, --homeserver URL   homeserver base URL [HOMESERVER_URL]
  -t, --token TOKEN      access token [BOT_ACCESS_TOKEN]
  -u, --user NAME        user to log in as, with --password [BOT_USER]
  -p, --password PASS    password [BOT_PASSWORD]
  -d, --data-dir DIR     where the session and keys are kept [BOT_DATA_DIR]
                         (default ~/.local/state/securecomm-notify)
      --notice           send an m.notice instead of m.text
      --timeout SECONDS  give up after this long (default 60)
  -v, --verbose          log progress to standard error
  -h, --help             this text

The first run logs in (password) or adopts the token's device, and keeps that device's session and keys in the
data directory: later runs reuse them, so no new device is created each time.`;

class UsageError extends Error {}

function fail(message: string, code: number): never {
  process.stderr.write(`securecomm-notify: ${message}\n`);
  process.exit(code);
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no message: give one as an argument or on standard input');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        homeserver: { type: 'string', short: 's' },
        token: { type: 'string', short: 't' },
        user: { type: 'string', short: 'u' },
        password: { type: 'string', short: 'p' },
        'data-dir': { type: 'string', short: 'd' },
        notice: { type: 'boolean' },
        timeout: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = process.env;
  const homeserverUrl = values.homeserver || env.HOMESERVER_URL;
  if (!homeserverUrl) throw new UsageError('no homeserver: use --homeserver URL or HOMESERVER_URL');
  try {
    new URL(homeserverUrl);
  } catch {
    throw new UsageError(`not a URL: ${homeserverUrl}`);
  }
  const [room, ...words] = positionals;
  if (!room) throw new UsageError('no room given');
  if (!/^[!#]/.test(room)) throw new UsageError(`not a room id or alias: ${room} (room ids start with !, aliases with #)`);
  const timeoutS = Number(values.timeout ?? 60);
  if (!(timeoutS > 0)) throw new UsageError(`bad --timeout: ${values.timeout}`);
  const text = words.length > 0 ? words.join(' ') : await readStdin();
  if (text.trim() === '') throw new UsageError('the message is empty');

  const timer = setTimeout(() => fail(`timed out after ${timeoutS} s`, 1), timeoutS * 1000);
  setSdkLogLevel();
  quietSdkConsole();
  const log = values.verbose ? stderrLogger('securecomm-notify', 'info') : silentBotLogger;
  // Requests the sdk still has in flight when the client stops are aborted; that is expected, not a failure.
  process.on('unhandledRejection', (err) => log.debug(`background: ${(err as Error)?.message ?? String(err)}`));
  let bot: Bot | undefined;
  try {
    bot = await startBot({
      homeserverUrl,
      dataDir: values['data-dir'] || env.BOT_DATA_DIR || join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'securecomm-notify'),
      accessToken: values.token || env.BOT_ACCESS_TOKEN || undefined,
      user: values.user || env.BOT_USER || undefined,
      password: values.password || env.BOT_PASSWORD || undefined,
      deviceName: 'securecomm-notify',
      autoJoin: false,
      initialSyncLimit: 0,
      startTimeoutMs: timeoutS * 1000,
      logger: log,
    });
    const roomId = await resolveRoom(bot, room);
    const membership = bot.client.getRoom(roomId)?.getMyMembership();
    if (membership === 'invite') {
      await bot.client.joinRoom(roomId);
      // The room's state (its encryption settings, its members) comes with the next sync: wait for it.
      await encryptedRoomReady(bot, roomId);
    } else if (membership !== 'join') throw new BotError('room', `${bot.userId} is not in room ${room}: invite it first`);
    // sendMessage encrypts: it shares the room key with every member's devices (to-device) before it sends.
    const eventId = await bot.sendText(roomId, text, values.notice ? { msgtype: 'm.notice' } : {});
    process.stdout.write(`${eventId}\n`);
  } finally {
    await bot?.stop();
    clearTimeout(timer);
  }
}

/** Resolves once the bot is joined to the room and its crypto knows the room is encrypted (each sync re-checks). */
function encryptedRoomReady(bot: Bot, roomId: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = async () => {
      if (bot.client.getRoom(roomId)?.getMyMembership() !== 'join') return;
      if (!(await bot.client.getCrypto()!.isEncryptionEnabledInRoom(roomId))) return;
      bot.client.off(ClientEvent.Sync, onSync);
      resolve();
    };
    const onSync = () => void check();
    bot.client.on(ClientEvent.Sync, onSync);
    void check();
  });
}

async function resolveRoom(bot: Bot, room: string): Promise<string> {
  if (room.startsWith('!')) return room;
  try {
    return (await bot.client.getRoomIdForAlias(room)).room_id;
  } catch (err) {
    const e = err as { errcode?: string; httpStatus?: number; message?: string };
    if (e.errcode === 'M_NOT_FOUND' || e.httpStatus === 404) throw new BotError('room', `room alias ${room} not found`);
    throw new BotError('server', `cannot resolve ${room}: ${e.message}`);
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  if (err instanceof UsageError) fail(`${err.message}\n(securecomm-notify --help for usage)`, 2);
  if (err instanceof BotError) fail(err.message, 1);
  const e = err as { errcode?: string; message?: string };
  fail(e.errcode ? `${e.errcode}: ${e.message}` : (e.message ?? String(err)), 1);
}
