/**
 * The bot runtime: a matrix-js-sdk client with Rust crypto whose whole state (session, crypto store, sync store)
 * lives under one data directory, so a restarted bot is the same device with the same keys and resumes its sync.
 * It logs in (session.ts), joins rooms it is invited to and hands decrypted messages to a handler (listeners.ts),
 * rides out server restarts and network drops (the sdk retries /sync with backoff), and stops cleanly.
 */
import './node20.js';
import { PersistentIdb } from './persistent-idb.js';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createClient, HttpApiEvent, IndexedDBStore, type IContent, type MatrixClient } from 'matrix-js-sdk';
import { BotError, type BotConfig } from './config.js';
import { sdkLoggerFor, stderrLogger, type BotLogger } from './log.js';
import { establishSession, SESSION_FILE } from './session.js';
import { deliverMessages, firstSync, joinInvites, logSyncState, type ReceivedMessage } from './listeners.js';

/** A message (decrypted) that someone else sent into a room the bot is in. */
export interface IncomingMessage extends ReceivedMessage {
  bot: Bot;
}

export interface BotHandlers {
  onMessage?(msg: IncomingMessage): void | Promise<void>;
  /** Called for each invite; return false to leave it unanswered (default: join when autoJoin is on). */
  onInvite?(roomId: string, inviter: string | undefined): boolean | Promise<boolean>;
}

const STORE_FILE = 'store.v8';

export interface Bot {
  client: MatrixClient;
  userId: string;
  deviceId: string;
  dataDir: string;
  log: BotLogger;
  /** Sends an (encrypted) message; resolves once the room key is shared and the event is on the server. */
  sendText(roomId: string, body: string, extra?: IContent): Promise<string>;
  /** Stops the sync loop and the crypto machine, and writes everything to the data directory. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the bot has stopped (by stop(), or because the server logged the session out). */
  readonly stopped: Promise<void>;
}

/**
 * Starts a bot from its data directory and resolves once the first sync is processed (from the cache and then
 * the server). Rejects with a BotError when the server, the credentials or the data directory are wrong.
 */
export async function startBot(config: BotConfig, handlers: BotHandlers = {}): Promise<Bot> {
  const log = config.logger ?? stderrLogger('bot');
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const session = await establishSession(config, join(dataDir, SESSION_FILE), log);

  // One in-memory IndexedDB per data directory, saved to store.v8 after every committed write.
  const dirKey = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const idb = new PersistentIdb(`securecomm-bot-${dirKey}`, join(dataDir, STORE_FILE), (err) => log.error(`saving the store failed: ${(err as Error).message}`));
  await idb.load();

  const store = new IndexedDBStore({ indexedDB: globalThis.indexedDB, dbName: `${idb.prefix}-sync` });
  await store.startup();

  const client = createClient({
    baseUrl: session.homeserverUrl,
    userId: session.userId,
    deviceId: session.deviceId,
    accessToken: session.accessToken,
    store,
    logger: sdkLoggerFor(log, process.env.BOT_SDK_LOG === 'debug'),
  });
  try {
    await client.initRustCrypto({
      useIndexedDB: true,
      cryptoDatabasePrefix: idb.prefix,
      ...(config.storePassphrase ? { storagePassword: config.storePassphrase } : {}),
    });
  } catch (err) {
    await idb.close();
    throw new BotError('config', `cannot open the crypto store in ${dataDir}: ${(err as Error).message}`);
  }

  let stopping: Promise<void> | undefined;
  const isStopping = () => stopping !== undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let abandonDecryptions = () => {};

  const bot: Bot = {
    client,
    userId: session.userId,
    deviceId: session.deviceId,
    dataDir,
    log,
    async sendText(roomId, body, extra = {}) {
      const res = await client.sendMessage(roomId, { msgtype: 'm.text', body, ...extra } as never);
      return res.event_id;
    },
    stop() {
      stopping ??= (async () => {
        abandonDecryptions();
        client.stopClient();
        try {
          await store.save(true);
        } catch (err) {
          log.warn(`saving the sync store failed: ${(err as Error).message}`);
        }
        await idb.close();
        log.info('stopped');
        resolveStopped();
      })();
      return stopping;
    },
    stopped,
  };

  logSyncState(client, log, () => store.save(true), isStopping);
  client.on(HttpApiEvent.SessionLoggedOut, (err) => {
    log.error(`the server ended this session (${err.errcode ?? err.message}); stopping`);
    void bot.stop();
  });
  const autoJoin = config.autoJoin ?? true;
  joinInvites(client, session.userId, log, (roomId, inviter) => (handlers.onInvite ? handlers.onInvite(roomId, inviter) : autoJoin), isStopping);
  const onMessage = handlers.onMessage;
  if (onMessage) abandonDecryptions = deliverMessages(client, session.userId, log, (msg) => onMessage({ ...msg, bot }), isStopping);

  // Start syncing; resolve after the first sync, or fail clearly (bounded).
  const ready = firstSync(client, session.homeserverUrl, config.startTimeoutMs ?? 60_000);
  try {
    await client.startClient({ initialSyncLimit: config.initialSyncLimit ?? 1, lazyLoadMembers: true });
    await ready;
  } catch (err) {
    await bot.stop();
    throw err;
  }
  log.info(`running as ${session.userId}, device ${session.deviceId}`);
  return bot;
}

/** SIGINT/SIGTERM stop the bot (flushing its store) and exit; a second signal exits at once. */
export function stopOnSignals(bot: Bot): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    bot.log.info(`${signal}: stopping`);
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        bot.log.error(`stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A background failure in the sdk (a request during a network drop) must not end the bot.
  process.on('unhandledRejection', (err) => bot.log.warn(`background error: ${(err as Error)?.message ?? String(err)}`));
}
