/**
 * Read receipts: one row per (room, user, type, thread), moved only forward, stamped with the stream position of its
 * last change.
 */
import type { Db } from './database.js';
import type { PositionSql } from './stream.js';

export interface ReceiptRow {
  roomId: string;
  userId: string;
  receiptType: string;
  /** '' for an unthreaded receipt. */
  threadId: string;
  eventId: string;
  ts: number;
  streamPos: number;
}

/**
 * Moves a receipt to an event if that event is later than where it is now (a new row gets stream position 0 until
 * updateReceiptStreamPos stamps it in the same transaction). False when nothing changed.
 */
export async function upsertReceipt(
  db: Db,
  r: { roomId: string; userId: string; receiptType: string; threadId: string; eventId: string; eventStreamPos: number; ts: number },
): Promise<boolean> {
  const rows = await db`
    INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, event_stream_pos, ts, stream_pos)
    VALUES (${r.roomId}, ${r.userId}, ${r.receiptType}, ${r.threadId}, ${r.eventId}, ${r.eventStreamPos}, ${r.ts}, 0)
    ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE
      SET event_id = EXCLUDED.event_id, event_stream_pos = EXCLUDED.event_stream_pos, ts = EXCLUDED.ts
      WHERE receipts.event_stream_pos < EXCLUDED.event_stream_pos
    RETURNING 1`;
  return rows.length === 1;
}

export async function updateReceiptStreamPos(db: Db, r: { roomId: string; userId: string; receiptType: string; threadId: string }, streamPos: number | PositionSql): Promise<void> {
  await db`
    UPDATE receipts SET stream_pos = ${streamPos}
    WHERE room_id = ${r.roomId} AND user_id = ${r.userId} AND receipt_type = ${r.receiptType} AND thread_id = ${r.threadId}`;
}

/**
 * Receipts in these rooms changed in (since, to] (all of them when since is undefined) that `userId` may see:
 * everyone's m.read, and only their own m.read.private.
 */
export async function selectReceiptsSince(db: Db, roomIds: string[], userId: string, since: number | undefined, to: number): Promise<ReceiptRow[]> {
  if (roomIds.length === 0) return [];
  return db<ReceiptRow[]>`
    SELECT room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos FROM receipts
    WHERE room_id = ANY(${roomIds}) AND stream_pos > ${since ?? -1} AND stream_pos <= ${to}
      AND (receipt_type = 'm.read' OR (receipt_type = 'm.read.private' AND user_id = ${userId}))
    ORDER BY stream_pos`;
}

/** As selectReceiptsSince, with each room's own since (-1: all of its receipts): [room id, since] pairs. */
export async function selectReceiptsFrom(db: Db, rooms: [string, number][], userId: string, to: number): Promise<ReceiptRow[]> {
  if (rooms.length === 0) return [];
  return db<ReceiptRow[]>`
    SELECT r.room_id, r.user_id, r.receipt_type, r.thread_id, r.event_id, r.ts, r.stream_pos
    FROM unnest(${rooms.map(([roomId]) => roomId)}::text[], ${rooms.map(([, since]) => since)}::bigint[]) AS f(room_id, since)
    JOIN receipts r ON r.room_id = f.room_id AND r.stream_pos > f.since AND r.stream_pos <= ${to}
    WHERE r.receipt_type = 'm.read' OR (r.receipt_type = 'm.read.private' AND r.user_id = ${userId})
    ORDER BY r.stream_pos`;
}

/**
 * The rooms among `rooms` (a SQL set: a subquery) whose receipts changed in (since, upTo], as one text[] column (shared
 * by /sync's snapshot and the sliding-sync extensions' statement; arguments are SQL expressions).
 */
export function roomsWithReceiptsSql(rooms: string, since: string, upTo: string): string {
  return `(SELECT coalesce(array_agg(DISTINCT r.room_id), '{}') FROM receipts r
        WHERE r.room_id IN ${rooms} AND r.stream_pos > ${since} AND r.stream_pos <= ${upTo})`;
}
