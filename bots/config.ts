/**
 * What a bot is given: its settings (from code or the environment) and the error that says what is wrong when
 * the server, the credentials or the data directory do not fit.
 */
import type { BotLogger } from './log.js';

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
