/** Account data, global (room_id '') and per room, each row stamped with the stream position of its last change. */
import type { Db } from './database.js';
import type { PositionSql } from './stream.js';

export interface AccountDataKey {
  userId: string;
  roomId: string;
  type: string;
}

/**
 * Writes the content; a new row gets stream position 0 until updateAccountDataStreamPos stamps it in the same
 * transaction (writers take their position last, see db/stream.ts).
 */
export async function upsertAccountData(db: Db, a: AccountDataKey & { content: unknown }): Promise<void> {
  await db`
    INSERT INTO account_data (user_id, room_id, type, content, stream_pos)
    VALUES (${a.userId}, ${a.roomId}, ${a.type}, ${db.json(a.content as never)}, 0)
    ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content`;
}

export async function updateAccountDataStreamPos(db: Db, k: AccountDataKey, streamPos: number | PositionSql): Promise<void> {
  await db`
    UPDATE account_data SET stream_pos = ${streamPos}
    WHERE user_id = ${k.userId} AND room_id = ${k.roomId} AND type = ${k.type}`;
}

export async function selectAccountData(db: Db, userId: string, roomId: string, type: string): Promise<Record<string, unknown> | undefined> {
  const [row] = await db<{ content: Record<string, unknown> }[]>`
    SELECT content FROM account_data WHERE user_id = ${userId} AND room_id = ${roomId} AND type = ${type}`;
  return row?.content;
}

/** Erasure of a deactivated account: every account data row of the user goes. */
export async function deleteAllAccountData(db: Db, userId: string): Promise<void> {
  await db`DELETE FROM account_data WHERE user_id = ${userId}`;
}

export interface AccountDataRow {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  streamPos: number;
}

/**
 * The user's account data (global and per room) changed in (since, upTo], oldest first, as one JSON column: written
 * once for /sync's snapshot and the sliding-sync account_data extension (arguments are SQL expressions; since -1
 * reads every row).
 */
export function accountDataChangesSql(user: string, since: string, upTo: string): string {
  return `(SELECT coalesce(json_agg(a ORDER BY a.stream_pos), '[]') FROM (
        SELECT room_id, type, content, stream_pos FROM account_data
        WHERE user_id = ${user} AND stream_pos > ${since} AND stream_pos <= ${upTo}) a)`;
}

/** When the user's push rules last changed (null if never), as a column. */
export function pushRulesPosSql(user: string): string {
  return `(SELECT stream_pos FROM push_rules_stream WHERE user_id = ${user})`;
}

type AccountDataJson = { room_id: string; type: string; content: Record<string, unknown>; stream_pos: number };

export function readAccountDataChanges(json: unknown): AccountDataRow[] {
  return (json as AccountDataJson[]).map((a) => ({ roomId: a.room_id, type: a.type, content: a.content, streamPos: a.stream_pos }));
}

/**
 * The user's account data rows of these rooms changed after each room's own since (-1: every row), as of the
 * watermark (rows stamped later are left out): [room id, since] pairs.
 */
export async function selectRoomAccountData(db: Db, userId: string, rooms: [string, number][], upTo: number): Promise<AccountDataRow[]> {
  if (rooms.length === 0) return [];
  return db<AccountDataRow[]>`
    SELECT a.room_id, a.type, a.content, a.stream_pos
    FROM unnest(${rooms.map(([roomId]) => roomId)}::text[], ${rooms.map(([, since]) => since)}::bigint[]) AS f(room_id, since)
    JOIN account_data a ON a.user_id = ${userId} AND a.room_id = f.room_id AND a.stream_pos > f.since AND a.stream_pos <= ${upTo}
    ORDER BY a.stream_pos`;
}
