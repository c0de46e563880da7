/**
 * The to-device inbox: messages per recipient device in stream order, deleted once acknowledged. The statement parts
 * that acknowledge and read a device's batch are written once here, for /sync's snapshot and the sliding-sync
 * to_device extension.
 */
import type { Db, Tx } from './database.js';

export interface ToDeviceRow {
  messageId: number;
  streamPos: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

/**
 * Takes the next stream position and inserts one send's messages at it, in one statement (the position is the
 * transaction's last write: the stream head's lock is then held for this statement and COMMIT only). `rows` keep
 * their order in the inbox.
 */
export async function insertToDeviceAtNextPosition(tx: Tx, sender: string, type: string, rows: { userId: string; deviceId: string; content: unknown }[]): Promise<void> {
  await tx`
    WITH p AS (UPDATE stream_head SET pos = nextval('stream_positions') RETURNING pos)
    INSERT INTO to_device_inbox (user_id, device_id, stream_pos, sender, type, content)
    SELECT r.user_id, r.device_id, (SELECT pos FROM p), ${sender}, ${type}, r.content
    FROM ROWS FROM (jsonb_to_recordset(${tx.json(rows.map((r) => ({ user_id: r.userId, device_id: r.deviceId, content: r.content })) as never)})
      AS (user_id text, device_id text, content jsonb)) WITH ORDINALITY AS r(user_id, device_id, content, n)
    ORDER BY r.n`;
}

/** Records a to-device transaction id; false when the device already used it. */
export async function insertToDeviceTxn(db: Db, userId: string, deviceId: string, txnId: string): Promise<boolean> {
  const rows = await db`
    INSERT INTO to_device_txns (user_id, device_id, txn_id) VALUES (${userId}, ${deviceId}, ${txnId}) ON CONFLICT DO NOTHING RETURNING 1`;
  return rows.length === 1;
}

/** Where a statement holds the values the inbox parts use: SQL expressions (parameters or columns). */
export interface InboxParams {
  user: string;
  device: string;
  /** The last message id the client acknowledged (0 when none). */
  ack: string;
  /** The watermark: messages at or below it have committed. */
  upTo: string;
  limit: string;
}

/**
 * The acknowledgement, as a data-modifying CTE body: the device's messages up to the acknowledged id go. `when`: a
 * boolean expression (whether the client acknowledged anything).
 */
export function inboxAckSql(p: InboxParams, when: string): string {
  return `DELETE FROM to_device_inbox WHERE ${when} AND user_id = ${p.user} AND device_id = ${p.device} AND message_id <= ${p.ack}`;
}

/**
 * The device's next batch as one JSON array: the first `limit` unacknowledged messages up to the watermark, in order.
 * (Rows deleted by the acknowledgement in the same statement are still visible to it, hence message_id > ack.)
 */
export function inboxBatchSql(p: InboxParams): string {
  return `(SELECT coalesce(json_agg(t ORDER BY t.stream_pos, t.message_id), '[]') FROM (
        SELECT message_id, stream_pos, sender, type, content FROM to_device_inbox
        WHERE user_id = ${p.user} AND device_id = ${p.device} AND stream_pos <= ${p.upTo} AND message_id > ${p.ack}
        ORDER BY stream_pos, message_id LIMIT ${p.limit}) t)`;
}

type InboxJson = { message_id: number; stream_pos: number; sender: string; type: string; content: Record<string, unknown> };

/** The batch column's value as rows. */
export function readInboxBatch(json: unknown): ToDeviceRow[] {
  return (json as InboxJson[]).map((t) => ({ messageId: t.message_id, streamPos: t.stream_pos, sender: t.sender, type: t.type, content: t.content }));
}
