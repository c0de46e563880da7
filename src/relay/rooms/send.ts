/**
 * Sending events: message events (through the encrypted-only policy), state events and redactions. A client's
 * transaction id, per device, makes a retry return the first event id without writing again.
 */
import type { Hs } from '../../hs.js';
import { badJson } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import { appendEvent, writeRoom, type EventDraft } from './append.js';

export interface Txn {
  userId: string;
  deviceId: string;
  txnId: string;
}

/** Appends a client's event; with a txn, a retry returns the first event's id. */
export async function sendEvent(hs: Hs, sender: string, roomId: string, draft: EventDraft, txn?: Txn): Promise<string> {
  if (txn) {
    const existing = await eventsDb.selectEventTxn(hs.sql, txn.userId, txn.deviceId, txn.txnId);
    if (existing) return existing;
  }
  return writeRoom(hs, roomId, async (room) => {
    if (txn) {
      // Checked again under the room lock: two racing retries of one txn write one event.
      const existing = await eventsDb.selectEventTxn(room.tx, txn.userId, txn.deviceId, txn.txnId);
      if (existing) return existing;
    }
    const row = await appendEvent(hs, room, sender, draft);
    if (txn) await eventsDb.insertEventTxn(room.tx, { ...txn, eventId: row.eventId });
    return row.eventId;
  });
}

export async function redactEvent(hs: Hs, sender: string, roomId: string, eventId: string, reason: string | undefined, txn: Txn, roomVersion: string): Promise<string> {
  if (!eventId.startsWith('$')) throw badJson('The event id must start with $.');
  const content: Record<string, unknown> = reason !== undefined ? { reason } : {};
  const draft: EventDraft = { type: 'm.room.redaction', content };
  if (roomVersion === '10') draft.redacts = eventId;
  else content.redacts = eventId;
  return sendEvent(hs, sender, roomId, draft, txn);
}
