/** The to-device inbox: messages per recipient device in stream order, deleted once acknowledged. */
import type { Db } from './database.js';

export interface ToDeviceRow {
  messageId: number;
  streamPos: number;
  sender: string;
  type: string;
  content: Record<string, unknown>;
}

export async function insertToDevice(db: Db, rows: { userId: string; deviceId: string; streamPos: number; sender: string; type: string; content: unknown }[]): Promise<void> {
  for (const r of rows) {
    await db`
      INSERT INTO to_device_inbox (user_id, device_id, stream_pos, sender, type, content)
      VALUES (${r.userId}, ${r.deviceId}, ${r.streamPos}, ${r.sender}, ${r.type}, ${db.json(r.content as never)})`;
  }
}

/** Records a to-device transaction id; false when the device already used it. */
export async function insertToDeviceTxn(db: Db, userId: string, deviceId: string, txnId: string): Promise<boolean> {
  const rows = await db`
    INSERT INTO to_device_txns (user_id, device_id, txn_id) VALUES (${userId}, ${deviceId}, ${txnId}) ON CONFLICT DO NOTHING RETURNING 1`;
  return rows.length === 1;
}
