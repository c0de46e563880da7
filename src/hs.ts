/**
 * The homeserver's shared parts, built once at start-up and passed explicitly to every layer (no container):
 * configuration, database pool, logger, rate limiters, the notifier that wakes long-polls, and the per-process
 * caches (per Hs, not per module: tests run several servers in one process).
 */
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import type { Database, Sql } from './db/database.js';
import { createRateLimits, type RateLimits } from './relay/rate-limits.js';
import { createNotifier, type Notifier } from './relay/notifier.js';
import { createTypingManager, type TypingManager } from './relay/ephemeral/typing.js';
import { createRoomStateCache, type RoomStateCache } from './relay/rooms/state-cache.js';
import { createFilterCache, type FilterCache } from './relay/filters.js';

export interface Hs {
  config: Config;
  sql: Sql;
  db: Database;
  log: Logger;
  limits: RateLimits;
  notifier: Notifier;
  /** Who is typing where: in memory, shared with the other processes (relay/ephemeral/typing.ts). */
  typing: TypingManager;
  /** The write path's copy of rooms' current state, keyed by each room's head (relay/rooms/state-cache.ts). */
  roomStates: RoomStateCache;
  /** Stored filters, which never change once stored (relay/filters.ts). */
  filters: FilterCache;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: undefined,
    // Secrets never belong in a log line; these paths catch them if a careless call passes a whole object.
    redact: { paths: ['password', '*.password', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'authorization', '*.authorization', 'body', '*.body'], censor: '[redacted]' },
  });
}

/** The embedded database is one process with one session: its wakes stay in-process (no LISTEN/NOTIFY). */
export async function createHs(config: Config, db: Database, log: Logger = createLogger(config)): Promise<Hs> {
  const notifier = await createNotifier(db.embedded ? undefined : db.sql);
  const typing = await createTypingManager(notifier, db.embedded ? undefined : db.sql);
  return { config, sql: db.sql, db, log, limits: createRateLimits(config), notifier, typing, roomStates: createRoomStateCache(), filters: createFilterCache() };
}
