/**
 * What the metrics read from the database at each scrape (relay/metrics.ts): counts and positions only, never an id.
 * One statement, so a scrape costs one round trip.
 */
import type { Db } from './database.js';

export interface DatabaseGauges {
  /** The watermark: every position at or below it has committed (stream_head). */
  watermark: number;
  /** The last position handed out (the sequence, which commits take their positions from; includes uncommitted ones). */
  lastPosition: number;
  /** To-device messages waiting for their devices to sync. */
  toDeviceQueued: number;
  /** Sessions on this database waiting for a lock now (writers queued on the stream head among them). */
  lockWaits: number;
}

export async function selectDatabaseGauges(db: Db): Promise<DatabaseGauges> {
  const [row] = await db<DatabaseGauges[]>`
    SELECT (SELECT pos FROM stream_head LIMIT 1) AS watermark,
           (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM stream_positions) AS last_position,
           (SELECT count(*) FROM to_device_inbox) AS to_device_queued,
           (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock') AS lock_waits`;
  return row;
}
