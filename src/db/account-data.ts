/** Account data, global (room_id '') and per room, each row stamped with the stream position of its last change. */
import type { Db } from './database.js';

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

export async function updateAccountDataStreamPos(db: Db, k: AccountDataKey, streamPos: number): Promise<void> {
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
