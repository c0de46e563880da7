/**
 * The homeserver's shared parts and who is calling: the types Hs and Requester, and createHs, which builds the parts
 * once at start-up; they are passed explicitly to every layer (no container). Every per-process cache is a field of
 * Hs (per Hs, not per module: tests run several servers in one process). The modules of the parts take no Hs, so
 * nothing imported here imports this module back.
 */
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import type { Database, Sql } from './db/database.js';
import { Lru } from './lib/lru.js';
import { createRateLimits, type RateLimits } from './relay/rate-limits.js';
import { createNotifier, type Notifier } from './relay/notifier.js';
import { createTypingManager, type TypingManager } from './relay/ephemeral/typing.js';
import { createPresenceManager, type PresenceManager } from './relay/ephemeral/presence.js';
import { wakePresenceWatchers } from './relay/ephemeral/user-presence.js';
import { createRoomStateCache, forgetRoomsWrittenElsewhere, type RoomStateCache } from './relay/rooms/state-cache.js';
import { createFilterCache, type FilterCache } from './relay/filters.js';
import { RoomListCache } from './relay/sliding-sync/list-cache.js';
import { PollMemory } from './relay/sync/poll-memory.js';
import type { BlobStore } from './relay/media/blob-store.js';
import { createFsBlobStore } from './relay/media/fs-store.js';
import { createPgBlobStore } from './relay/media/pg-store.js';
import { createMetrics, type Metrics } from './relay/metrics.js';
import type { Bus } from './relay/bus/bus.js';
import { createPgBus } from './relay/bus/pg-bus.js';
import { createNatsBus } from './relay/bus/nats-bus.js';

/** Who is calling: the user and device of an access token (resolved in relay/authentication.ts). */
export interface Requester {
  userId: string;
  deviceId: string;
  isGuest: boolean;
  isAdmin: boolean;
  tokenHash: Buffer;
  /** Resolved from the session cache: the handler's own read must confirm the token (relay/authentication.ts). */
  unconfirmed?: boolean;
}

/** A session this process resolved recently (relay/authentication.ts). */
export interface CachedSession {
  requester: Requester;
  expiresTs: number | null;
  lastSeenTs: number;
}

/** Sessions kept per process. */
const CACHED_SESSIONS = 50_000;

export interface Hs {
  config: Config;
  sql: Sql;
  db: Database;
  log: Logger;
  limits: RateLimits;
  notifier: Notifier;
  /** The bus between processes (relay/bus/: NATS with BUS_URL, else LISTEN/NOTIFY); none on the embedded database. Owned by the notifier. */
  bus: Bus | undefined;
  /** Who is typing where: in memory, shared with the other processes (relay/ephemeral/typing.ts). */
  typing: TypingManager;
  /** Who is online: in memory, shared with the other processes; nothing with PRESENCE=off (relay/ephemeral/presence.ts). */
  presence: PresenceManager;
  /** The write path's copy of rooms' current state, keyed by each room's head (relay/rooms/state-cache.ts). */
  roomStates: RoomStateCache;
  /** Stored filters, which never change once stored (relay/stored-filters.ts). */
  filters: FilterCache;
  /** Recently resolved access tokens, by token hash, for /sync (relay/authentication.ts). */
  sessions: Lru<string, CachedSession>;
  /** What this process remembers between one device's /sync long-polls (relay/sync/poll-memory.ts). */
  polls: PollMemory;
  /** Each user's sliding sync room list as last read, brought up to date from the stream (relay/sliding-sync/list-cache.ts). */
  roomLists: RoomListCache;
  /** Where media bytes live: files under DATA_DIR/media or chunks in PostgreSQL (MEDIA_STORE, relay/media/blob-store.ts). */
  media: BlobStore;
  /** Prometheus metrics, when configured (METRICS_PORT or METRICS_TOKEN; relay/metrics.ts); else nothing is counted. */
  metrics: Metrics | undefined;
}

/**
 * The server's parts as code running inside a transaction sees them: everything but the pool. There the database is
 * the transaction's handle (`tx`); a query on the pool would wait for a connection that its own caller holds, with a
 * pool of one (the embedded database) forever. Functions called inside transaction() take a TxHs, so that they cannot
 * reach the pool (db/pool.ts also trips at run time, docs/database.md).
 */
export type TxHs = Omit<Hs, 'sql' | 'db'>;

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: undefined,
    // Secrets never belong in a log line; these paths catch them if a careless call passes a whole object.
    redact: { paths: ['password', '*.password', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'authorization', '*.authorization', 'body', '*.body'], censor: '[redacted]' },
  });
}

/** The bus between processes: NATS when BUS_URL is set, else PostgreSQL LISTEN/NOTIFY; none for the embedded database (one process). */
async function openBus(config: Config, db: Database, log: Logger): Promise<Bus | undefined> {
  if (db.embedded) return undefined;
  if (config.busUrl !== undefined) return createNatsBus({ url: config.busUrl, prefix: config.busPrefix, log });
  return createPgBus(db.sql);
}

/** The embedded database is one process with one session: its wakes stay in-process (no bus). */
export async function createHs(config: Config, db: Database, log: Logger = createLogger(config)): Promise<Hs> {
  const bus = await openBus(config, db, log);
  const notifier = await createNotifier(bus);
  const typing = await createTypingManager(notifier, bus);
  const presence = await createPresenceManager(config.presence, wakePresenceWatchers(notifier, db.sql), bus);
  const roomStates = createRoomStateCache();
  notifier.onRemoteWake((keys) => forgetRoomsWrittenElsewhere(roomStates, keys));
  const metricsOn = config.metricsPort !== undefined || config.metricsToken !== undefined;
  return {
    config, sql: db.sql, db, log, limits: createRateLimits(config), notifier, bus, typing, presence,
    roomStates, filters: createFilterCache(), sessions: new Lru(CACHED_SESSIONS), polls: new PollMemory(), roomLists: new RoomListCache(),
    media: config.mediaStore === 'postgres' ? createPgBlobStore(db.sql) : createFsBlobStore(path.join(config.dataDir, 'media')),
    metrics: metricsOn ? createMetrics(db.sql, notifier, bus) : undefined,
  };
}
