/**
 * Message retention (ephemeral rooms): a room's m.room.retention max_lifetime, bounded by the server's minimum and
 * maximum, or the server-wide maximum. Expired message events and undelivered to-device messages are deleted
 * from the database (not hidden); state events stay, so rooms keep working and pagination only meets gaps.
 */
import { deleteNotificationsOfEvents } from '../db/notifications.js';
import type { Hs } from '../hs.js';
import type { Config } from '../config.js';
import { badJson } from '../errors.js';

type RetentionConfig = Pick<Config, 'retentionMaxLifetimeMs' | 'retentionMinLifetimeMs'>;

/** m.room.retention content: max_lifetime, when present, is a positive integer of milliseconds. */
export function checkRetentionContent(content: Record<string, unknown>): void {
  for (const key of ['max_lifetime', 'min_lifetime']) {
    const v = content[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) <= 0)) throw badJson(`m.room.retention ${key} must be a positive integer of milliseconds.`);
  }
}

/** The lifetime messages of a room get: its own max_lifetime clamped to the server's bounds, else the server's. */
export function effectiveLifetime(config: RetentionConfig, roomMaxLifetime: unknown): number | undefined {
  let lifetime = Number.isSafeInteger(roomMaxLifetime) && (roomMaxLifetime as number) > 0 ? Math.max(roomMaxLifetime as number, config.retentionMinLifetimeMs) : undefined;
  if (config.retentionMaxLifetimeMs !== undefined) lifetime = Math.min(lifetime ?? Infinity, config.retentionMaxLifetimeMs);
  return lifetime;
}

export interface PurgeResult {
  events: number;
  toDevice: number;
}

/** One run of the retention job. */
export async function purgeExpired(hs: Hs, now = Date.now()): Promise<PurgeResult> {
  const sql = hs.sql;
  const own = await sql<{ roomId: string; maxLifetime: unknown }[]>`
    SELECT c.room_id, e.content->'max_lifetime' AS max_lifetime FROM current_state c JOIN events e ON e.event_id = c.event_id
    WHERE c.type = 'm.room.retention' AND c.state_key = ''`;
  const deleted: string[] = [];
  const positions: number[] = [];
  const collect = (rows: { eventId: string; streamPos: number }[]) => {
    deleted.push(...rows.map((r) => r.eventId));
    positions.push(...rows.map((r) => r.streamPos));
  };
  for (const room of own) {
    const lifetime = effectiveLifetime(hs.config, room.maxLifetime);
    if (lifetime === undefined) continue;
    collect(await sql<{ eventId: string; streamPos: number }[]>`
      DELETE FROM events WHERE room_id = ${room.roomId} AND state_key IS NULL AND origin_server_ts < ${now - lifetime} RETURNING event_id, stream_pos`);
  }
  let toDevice = 0;
  const serverMax = hs.config.retentionMaxLifetimeMs;
  if (serverMax !== undefined) {
    collect(await sql<{ eventId: string; streamPos: number }[]>`
      DELETE FROM events WHERE state_key IS NULL AND origin_server_ts < ${now - serverMax}
        AND room_id NOT IN (SELECT room_id FROM current_state WHERE type = 'm.room.retention' AND state_key = '') RETURNING event_id, stream_pos`);
    toDevice = (await sql`DELETE FROM to_device_inbox WHERE created_ts < ${now - serverMax} RETURNING 1`).length;
  }
  if (deleted.length > 0) await sql`DELETE FROM event_txns WHERE event_id = ANY(${deleted})`;
  await deleteNotificationsOfEvents(sql, positions);
  if (deleted.length > 0 || toDevice > 0) hs.log.info({ events: deleted.length, toDevice }, 'retention: expired messages deleted');
  return { events: deleted.length, toDevice };
}

/** Starts the periodic job (when RETENTION is on); returns a stop function. */
export function startRetention(hs: Hs): () => void {
  if (!hs.config.retention) return () => {};
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeExpired(hs)
      .catch((err) => hs.log.error({ err: { message: (err as Error).message } }, 'retention job failed'))
      .finally(() => (running = false));
  }, hs.config.retentionIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
