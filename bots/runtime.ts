/**
 * The bot runtime: a matrix-js-sdk client with Rust crypto whose whole state (session, crypto store, sync store)
 * lives under one data directory, so a restarted bot is the same device with the same keys and resumes its sync.
 * It logs in (password or access token), joins rooms it is invited to, hands decrypted messages to a handler,
 * rides out server restarts and network drops (the sdk retries /sync with backoff), and stops cleanly.
 */
import './node20.js';
import { PersistentIdb } from './persistent-idb.js';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ClientEvent,
  createClient,
  HttpApiEvent,
  IndexedDBStore,
  MatrixEventEvent,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type ICreateClientOpts,
  type IContent,
  type MatrixClient,
  type MatrixEvent,
  type Room,
} from 'matrix-js-sdk';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';

/** Where a failure comes from, so that callers (the notify CLI) can say what is wrong. */
export type BotErrorKind = 'config' | 'unreachable' | 'auth' | 'room' | 'timeout' | 'server';

export class BotError extends Error {
  constructor(
    readonly kind: BotErrorKind,
    message: string,
    readonly errcode?: string,
  ) {
    super(message);
    this.name = 'BotError';
  }
}

export interface BotLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type BotLogLevel = (typeof LEVELS)[number];

/** Log lines to standard error: `2025-01-01T00:00:00.000Z info  <name>: message`. */
export function stderrLogger(name: string, level: BotLogLevel = 'info'): BotLogger {
  const min = LEVELS.indexOf(level);
  const line = (l: BotLogLevel) => (msg: string) => {
    if (LEVELS.indexOf(l) >= min) process.stderr.write(`${new Date().toISOString()} ${l.padEnd(5)} ${name}: ${msg}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

export const silentBotLogger: BotLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export interface BotConfig {
  /** The homeserver's base URL, e.g. http://127.0.0.1:8008. */
  homeserverUrl: string;
  /** Everything the bot keeps: session.json (0600) and store.v8 (crypto + sync state). Created if missing. */
  dataDir: string;
  /** Localpart or full user id, with `password`: used when the data directory holds no session yet. */
  user?: string;
  password?: string;
  /** An access token (with its device) instead of a password. */
  accessToken?: string;
  /** Display name of the device a password login creates. */
  deviceName?: string;
  /** Optional passphrase encrypting the Rust crypto store inside the snapshot file. */
  storePassphrase?: string;
  /** Join rooms the bot is invited to (default true). */
  autoJoin?: boolean;
  /** Timeline events per room in the first sync (default 1). */
  initialSyncLimit?: number;
  /** How long start-up may take before giving up (default 60 s). */
  startTimeoutMs?: number;
  logger?: BotLogger;
}

/** A message (decrypted) that someone else sent into a room the bot is in. */
export interface IncomingMessage {
  bot: Bot;
  room: Room;
  event: MatrixEvent;
  sender: string;
  /** The decrypted content: body, msgtype, ... */
  content: IContent;
  body: string;
  msgtype: string;
}

export interface BotHandlers {
  onMessage?(msg: IncomingMessage): void | Promise<void>;
  /** Called for each invite; return false to leave it unanswered (default: join when autoJoin is on). */
  onInvite?(roomId: string, inviter: string | undefined): boolean | Promise<boolean>;
}

interface Session {
  homeserverUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
}

const SESSION_FILE = 'session.json';
const STORE_FILE = 'store.v8';

/** Reads the common settings from the environment (HOMESERVER_URL, BOT_USER, BOT_PASSWORD, BOT_ACCESS_TOKEN, BOT_DATA_DIR). */
export function botConfigFromEnv(env: NodeJS.ProcessEnv = process.env, defaults: Partial<BotConfig> = {}): BotConfig {
  // An empty variable counts as unset.
  const get = (name: string) => env[name] || undefined;
  const homeserverUrl = get('HOMESERVER_URL') ?? defaults.homeserverUrl;
  const dataDir = get('BOT_DATA_DIR') ?? defaults.dataDir;
  if (!homeserverUrl) throw new BotError('config', 'HOMESERVER_URL is not set (e.g. http://127.0.0.1:8008)');
  if (!dataDir) throw new BotError('config', 'BOT_DATA_DIR is not set (a directory for the bot’s session and keys)');
  return {
    ...defaults,
    homeserverUrl,
    dataDir,
    user: get('BOT_USER') ?? defaults.user,
    password: get('BOT_PASSWORD') ?? defaults.password,
    accessToken: get('BOT_ACCESS_TOKEN') ?? defaults.accessToken,
    storePassphrase: get('BOT_STORE_PASSPHRASE') ?? defaults.storePassphrase,
  };
}

/** Silences (or sets the level of) matrix-js-sdk's own global logger; BOT_SDK_LOG=debug shows it all. */
export function setSdkLogLevel(level: string = process.env.BOT_SDK_LOG ?? 'silent'): void {
  (sdkGlobalLogger as unknown as { setLevel(level: string): void }).setLevel(level);
}

/**
 * Some sdk modules (MatrixRTC) log through console at debug level whatever the global level: this keeps standard
 * output for the program's own output. `verbose`: such lines go to standard error; otherwise they are dropped.
 */
export function quietSdkConsole(verbose = process.env.BOT_SDK_LOG === 'debug'): void {
  const toStderr = (...args: unknown[]) => void process.stderr.write(`${args.map(String).join(' ')}\n`);
  const sink = verbose ? toStderr : () => {};
  console.log = sink;
  console.info = sink;
  console.debug = sink;
  console.trace = sink;
  console.warn = sink;
  console.error = verbose ? toStderr : sink;
}

type SdkLogger = NonNullable<ICreateClientOpts['logger']>;
function sdkLoggerFor(log: BotLogger, verbose: boolean): SdkLogger {
  const noop = () => {};
  const fmt = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  const l: SdkLogger = {
    trace: noop,
    debug: verbose ? (...a: unknown[]) => log.debug(`sdk: ${fmt(a)}`) : noop,
    info: verbose ? (...a: unknown[]) => log.debug(`sdk: ${fmt(a)}`) : noop,
    warn: verbose ? (...a: unknown[]) => log.warn(`sdk: ${fmt(a)}`) : noop,
    error: verbose ? (...a: unknown[]) => log.error(`sdk: ${fmt(a)}`) : noop,
    getChild: () => l,
  };
  return l;
}

/** One request to the client-server API, with errors turned into BotErrors that say what went wrong. */
async function api(baseUrl: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(new URL(path, baseUrl), {
      method,
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}) },
      body: opts.body ? JSON.stringify(opts.body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new BotError('unreachable', `cannot reach the homeserver at ${baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new BotError('unreachable', `${baseUrl} does not look like a Matrix homeserver (${method} ${path}: HTTP ${res.status}, not JSON)`);
  }
  if (!res.ok) {
    const errcode = typeof json.errcode === 'string' ? json.errcode : undefined;
    const error = typeof json.error === 'string' ? json.error : `HTTP ${res.status}`;
    const kind: BotErrorKind = res.status === 401 || errcode === 'M_UNKNOWN_TOKEN' || errcode === 'M_MISSING_TOKEN' ? 'auth' : 'server';
    throw new BotError(kind, `${method} ${path}: ${errcode ?? res.status}: ${error}`, errcode);
  }
  return json;
}

async function readSession(file: string): Promise<Session | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const s = JSON.parse(text) as Partial<Session>;
  if (!s.homeserverUrl || !s.userId || !s.deviceId || !s.accessToken) throw new BotError('config', `${file} is incomplete; remove the data directory to start afresh`);
  return s as Session;
}

/** Written to a temporary file and renamed: never half a session file; mode 0600 (it holds the access token). */
async function writeSession(file: string, session: Session): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(session, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

const sameServer = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
const matchesUser = (userId: string, user: string) => userId === user || userId.slice(1, userId.indexOf(':')) === user;

async function whoami(baseUrl: string, token: string): Promise<{ userId: string; deviceId?: string }> {
  const me = await api(baseUrl, 'GET', '/_matrix/client/v3/account/whoami', { token });
  return { userId: String(me.user_id), deviceId: typeof me.device_id === 'string' ? me.device_id : undefined };
}

async function passwordLogin(config: BotConfig, deviceId?: string): Promise<Session> {
  if (!config.user || !config.password) throw new BotError('config', 'no session in the data directory: give an access token, or a user and a password');
  const res = await api(config.homeserverUrl, 'POST', '/_matrix/client/v3/login', {
    body: {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: config.user },
      password: config.password,
      initial_device_display_name: config.deviceName ?? 'SecureComm bot',
      ...(deviceId ? { device_id: deviceId } : {}),
    },
  }).catch((err: unknown) => {
    if (err instanceof BotError && err.errcode === 'M_FORBIDDEN') throw new BotError('auth', `login as ${config.user} refused: wrong user or password`, err.errcode);
    throw err;
  });
  return { homeserverUrl: config.homeserverUrl, userId: String(res.user_id), deviceId: String(res.device_id), accessToken: String(res.access_token) };
}

/**
 * The session for this data directory: the saved one (its token checked with whoami), else one from the given
 * access token, else a password login. A saved session's device is kept: a password re-login after its token
 * stopped working asks for the same device id, since the crypto store holds that device's keys.
 */
async function establishSession(config: BotConfig, file: string, log: BotLogger): Promise<Session> {
  const saved = await readSession(file);
  if (saved) {
    if (!sameServer(saved.homeserverUrl, config.homeserverUrl))
      throw new BotError('config', `the data directory belongs to ${saved.homeserverUrl}, not ${config.homeserverUrl}: use another directory`);
    if (config.user && !matchesUser(saved.userId, config.user)) throw new BotError('config', `the data directory belongs to ${saved.userId}, not ${config.user}: use another directory`);
    const token = config.accessToken || saved.accessToken;
    try {
      const me = await whoami(config.homeserverUrl, token);
      if (me.userId !== saved.userId || (me.deviceId && me.deviceId !== saved.deviceId))
        throw new BotError('config', `the access token is for ${me.userId} device ${me.deviceId}, but the data directory holds ${saved.userId} device ${saved.deviceId}: use another directory`);
      const session = { ...saved, accessToken: token };
      if (token !== saved.accessToken) await writeSession(file, session);
      return session;
    } catch (err) {
      if (!(err instanceof BotError) || err.kind !== 'auth' || config.accessToken || !config.password) throw err;
      log.warn(`the saved access token was refused; logging in again as device ${saved.deviceId}`);
      const session = await passwordLogin({ ...config, user: config.user ?? saved.userId }, saved.deviceId);
      await writeSession(file, session);
      return session;
    }
  }
  let session: Session;
  if (config.accessToken) {
    const me = await whoami(config.homeserverUrl, config.accessToken).catch((err: unknown) => {
      if (err instanceof BotError && err.kind === 'auth') throw new BotError('auth', `the access token was refused by ${config.homeserverUrl} (${err.errcode ?? 'unauthorized'})`, err.errcode);
      throw err;
    });
    if (!me.deviceId) throw new BotError('config', 'the server did not say which device the access token belongs to');
    if (config.user && !matchesUser(me.userId, config.user)) throw new BotError('config', `the access token is for ${me.userId}, not ${config.user}`);
    session = { homeserverUrl: config.homeserverUrl, userId: me.userId, deviceId: me.deviceId, accessToken: config.accessToken };
  } else {
    session = await passwordLogin(config);
  }
  await writeSession(file, session);
  log.info(`new session for ${session.userId}, device ${session.deviceId}`);
  return session;
}

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
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const abandon = new Set<() => void>();

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
        for (const f of abandon) f();
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

  // Sync state: the sdk retries a failed /sync itself, with backoff, until the server answers again.
  let lastState: SyncState | null = null;
  client.on(ClientEvent.Sync, (state, _prev, data) => {
    if (state !== lastState) {
      if (state === SyncState.Reconnecting || state === SyncState.Error) log.warn(`sync ${state.toLowerCase()}: ${data?.error?.message ?? 'connection lost'}; retrying`);
      else if (lastState === SyncState.Reconnecting || lastState === SyncState.Error) log.info(`sync ${state.toLowerCase()}: connection back`);
      lastState = state;
    }
    // Keep the sync position (and rooms) on disk after every sync: a restart resumes where this one stopped.
    if ((state === SyncState.Syncing || state === SyncState.Prepared) && !stopping) store.save(true).catch((err: unknown) => log.warn(`saving the sync store failed: ${(err as Error).message}`));
  });
  client.on(HttpApiEvent.SessionLoggedOut, (err) => {
    log.error(`the server ended this session (${err.errcode ?? err.message}); stopping`);
    void bot.stop();
  });

  // Invites: join (a few tries, with backoff, in case the server is briefly away).
  const autoJoin = config.autoJoin ?? true;
  const joining = new Set<string>();
  client.on(RoomMemberEvent.Membership, (event, member) => {
    if (member.userId !== session.userId || member.membership !== 'invite' || joining.has(member.roomId) || stopping) return;
    joining.add(member.roomId);
    void (async () => {
      try {
        const accept = handlers.onInvite ? await handlers.onInvite(member.roomId, event.getSender()) : autoJoin;
        if (!accept) return;
        for (let attempt = 1; ; attempt++) {
          try {
            await client.joinRoom(member.roomId);
            log.info(`joined ${member.roomId} (invited by ${event.getSender()})`);
            return;
          } catch (err) {
            if (attempt >= 5 || stopping) throw err;
            await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt).unref());
          }
        }
      } catch (err) {
        log.warn(`could not join ${member.roomId}: ${(err as Error).message}`);
      } finally {
        joining.delete(member.roomId);
      }
    })();
  });

  // Messages: live timeline events from others (not those replayed from the cache at start-up), once decrypted.
  client.on(RoomEvent.Timeline, (event, room, toStartOfTimeline, removed, data) => {
    if (!handlers.onMessage || !room || toStartOfTimeline || removed || !data.liveEvent || stopping) return;
    if (event.getSender() === session.userId) return;
    void dispatch(event, room);
  });

  async function decryptedOrUndefined(event: MatrixEvent): Promise<boolean> {
    if (!event.isEncrypted()) return true;
    await client.decryptEventIfNeeded(event);
    if (!event.isDecryptionFailure()) return true;
    // The room key may still be on its way: the sdk retries the decryption when it arrives.
    return new Promise<boolean>((resolveDecrypted) => {
      const onDecrypted = () => {
        if (event.isDecryptionFailure()) return;
        finish(true);
      };
      const finish = (ok: boolean) => {
        event.off(MatrixEventEvent.Decrypted, onDecrypted);
        abandon.delete(cancel);
        resolveDecrypted(ok);
      };
      const cancel = () => finish(false);
      abandon.add(cancel);
      event.on(MatrixEventEvent.Decrypted, onDecrypted);
    });
  }

  async function dispatch(event: MatrixEvent, room: Room): Promise<void> {
    try {
      if (!(await decryptedOrUndefined(event))) return;
      if (event.getType() !== 'm.room.message' || event.isRedacted()) return;
      const content = event.getContent();
      if (typeof content.body !== 'string') return;
      await handlers.onMessage!({ bot, room, event, sender: event.getSender()!, content, body: content.body, msgtype: String(content.msgtype ?? '') });
    } catch (err) {
      log.error(`handling ${event.getId()} in ${room.roomId} failed: ${(err as Error).message}`);
    }
  }

  // Start syncing; resolve after the first sync, or fail clearly (bounded).
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    const timer = setTimeout(() => {
      client.off(ClientEvent.Sync, onSync);
      rejectReady(new BotError('timeout', `no sync with ${session.homeserverUrl} within ${(config.startTimeoutMs ?? 60_000) / 1000} s`));
    }, config.startTimeoutMs ?? 60_000);
    const onSync = (state: SyncState) => {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        clearTimeout(timer);
        client.off(ClientEvent.Sync, onSync);
        resolveReady();
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
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
