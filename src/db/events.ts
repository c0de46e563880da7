/**
 * Room events: one row per event, ordered by stream position. Reads take an upper bound (a watermark) so that
 * nothing above what has committed in order is ever returned.
 */
import type { Db } from './database.js';

export interface EventRow {
  streamPos: number;
  eventId: string;
  roomId: string;
  type: string;
  stateKey: string | null;
  sender: string;
  originServerTs: number;
  depth: number;
  content: Record<string, unknown>;
  prevEvents: string[];
  unsigned: Record<string, unknown>;
  redacts: string | null;
}

export async function selectEvent(db: Db, eventId: string): Promise<EventRow | undefined> {
  const [row] = await db<EventRow[]>`SELECT * FROM events WHERE event_id = ${eventId}`;
  return row;
}

export async function selectEventsByIds(db: Db, eventIds: string[]): Promise<EventRow[]> {
  if (eventIds.length === 0) return [];
  return db<EventRow[]>`SELECT * FROM events WHERE event_id = ANY(${eventIds}) ORDER BY stream_pos`;
}

/** The current state of a room (the events current_state points at). */
export async function selectCurrentStateEvents(db: Db, roomId: string): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT e.* FROM current_state c JOIN events e ON e.event_id = c.event_id WHERE c.room_id = ${roomId} ORDER BY e.stream_pos`;
}

/** The state of a room at a position: the latest state event of each (type, state_key) at or below it. */
export async function selectStateAt(db: Db, roomId: string, pos: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (type, state_key) * FROM events
      WHERE room_id = ${roomId} AND state_key IS NOT NULL AND stream_pos <= ${pos}
      ORDER BY type, state_key, stream_pos DESC
    ) s ORDER BY stream_pos`;
}

/** Events of a room with from < pos <= to, the newest `limit` of them, oldest first. */
export async function selectRoomEventsBackward(db: Db, roomId: string, from: number, to: number, limit: number): Promise<EventRow[]> {
  const rows = await db<EventRow[]>`
    SELECT * FROM events WHERE room_id = ${roomId} AND stream_pos > ${from} AND stream_pos <= ${to}
    ORDER BY stream_pos DESC LIMIT ${limit}`;
  return rows.reverse();
}

/** A timeline event, and whether any event relates to it (a hint: bundling aggregations reads only those). */
export interface TimelineRow extends EventRow {
  hasChildren: boolean;
}

/**
 * A timeline row as a JSON object with TimelineRow's fields, over `e` (an events row with `has_children`): for
 * batches read inside a larger statement (/sync's snapshot, sliding sync's wake probe), read back as TimelineRow.
 */
export const TIMELINE_ROW_JSON = `json_build_object(
            'streamPos', e.stream_pos, 'eventId', e.event_id, 'roomId', e.room_id, 'type', e.type, 'stateKey', e.state_key,
            'sender', e.sender, 'originServerTs', e.origin_server_ts, 'depth', e.depth, 'content', e.content,
            'prevEvents', e.prev_events, 'unsigned', e.unsigned, 'redacts', e.redacts, 'hasChildren', e.has_children)`;

/** selectRoomEventsBackward for timelines: each row says whether it has relation children. */
export async function selectTimelineBackward(db: Db, roomId: string, from: number, to: number, limit: number): Promise<TimelineRow[]> {
  const rows = await db<TimelineRow[]>`
    SELECT e.*, EXISTS (SELECT 1 FROM event_relations r WHERE r.relates_to_id = e.event_id) AS has_children
    FROM events e WHERE e.room_id = ${roomId} AND e.stream_pos > ${from} AND e.stream_pos <= ${to}
    ORDER BY e.stream_pos DESC LIMIT ${limit}`;
  return rows.reverse();
}

/** Events of a room with from < pos <= to, the oldest `limit` of them, oldest first. */
export async function selectRoomEventsForward(db: Db, roomId: string, from: number, to: number, limit: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT * FROM events WHERE room_id = ${roomId} AND stream_pos > ${from} AND stream_pos <= ${to}
    ORDER BY stream_pos ASC LIMIT ${limit}`;
}

export async function updateEventRedacted(db: Db, eventId: string, content: Record<string, unknown>, unsigned: Record<string, unknown>): Promise<void> {
  await db`UPDATE events SET content = ${db.json(content as never)}, unsigned = ${db.json(unsigned as never)} WHERE event_id = ${eventId}`;
}

export interface TxnKey {
  userId: string;
  deviceId: string;
  scope: string;
  txnId: string;
}

export async function insertEventTxn(db: Db, t: TxnKey & { eventId: string }): Promise<void> {
  await db`
    INSERT INTO event_txns (user_id, device_id, scope, txn_id, event_id) VALUES (${t.userId}, ${t.deviceId}, ${t.scope}, ${t.txnId}, ${t.eventId})`;
}

export async function selectEventTxn(db: Db, t: TxnKey): Promise<string | undefined> {
  const [row] = await db<{ eventId: string }[]>`
    SELECT event_id FROM event_txns WHERE user_id = ${t.userId} AND device_id = ${t.deviceId} AND scope = ${t.scope} AND txn_id = ${t.txnId}`;
  return row?.eventId;
}

/** The transaction ids this device used for the given events (for unsigned.transaction_id). */
export async function selectTxnIdsOfEvents(db: Db, userId: string, deviceId: string, eventIds: string[]): Promise<Map<string, string>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db<{ eventId: string; txnId: string }[]>`
    SELECT event_id, txn_id FROM event_txns WHERE user_id = ${userId} AND device_id = ${deviceId} AND event_id = ANY(${eventIds})`;
  return new Map(rows.map((r) => [r.eventId, r.txnId]));
}

/** What visibility needs in one read: the user's membership events and the room's history_visibility events, oldest first. */
export async function selectVisibilityInputs(db: Db, roomId: string, userId: string, to: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT * FROM events WHERE room_id = ${roomId} AND stream_pos <= ${to}
      AND ((type = 'm.room.member' AND state_key = ${userId}) OR (type = 'm.room.history_visibility' AND state_key = ''))
    ORDER BY stream_pos`;
}

/** A place in a room's events ordered by (origin_server_ts, stream_pos). */
export interface TsCursor {
  ts: number;
  pos: number;
}

/**
 * Up to `limit` events of a room with stream_pos <= upTo strictly after the cursor in (origin_server_ts, stream_pos)
 * order ('f'), or strictly before it ('b'), nearest first (index events_room_ts).
 */
export async function selectRoomEventsByTs(db: Db, roomId: string, dir: 'f' | 'b', cursor: TsCursor, upTo: number, limit: number): Promise<EventRow[]> {
  return dir === 'f'
    ? db<EventRow[]>`
      SELECT * FROM events WHERE room_id = ${roomId} AND (origin_server_ts, stream_pos) > (${cursor.ts}, ${cursor.pos}) AND stream_pos <= ${upTo}
      ORDER BY origin_server_ts ASC, stream_pos ASC LIMIT ${limit}`
    : db<EventRow[]>`
      SELECT * FROM events WHERE room_id = ${roomId} AND (origin_server_ts, stream_pos) < (${cursor.ts}, ${cursor.pos}) AND stream_pos <= ${upTo}
      ORDER BY origin_server_ts DESC, stream_pos DESC LIMIT ${limit}`;
}
