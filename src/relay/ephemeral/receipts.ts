/**
 * Receipts and read markers: m.read (shared with the room), m.read.private (the user's own devices only), the
 * m.fully_read marker (room account data). Only members mark events they can see; receipts only move forward.
 */
import type { Hs } from '../../hs.js';
import { transaction } from '../../db/database.js';
import { invalidParam } from '../../errors.js';
import type { EventRow } from '../../db/events.js';
import { upsertAccountData, updateAccountDataStreamPos } from '../../db/account-data.js';
import { selectReceiptsFrom, selectReceiptsSince, updateReceiptStreamPos, upsertReceipt, type ReceiptRow } from '../../db/receipts.js';
import { selectStreamHead, stampAtNextPositionAndCommit, type PositionSql } from '../../db/stream.js';
import { WakeBatch, onAccountData, onReceipt } from '../wakes.js';
import { requireJoined, visibleEvent } from '../rooms/access.js';

export const RECEIPT_TYPES = ['m.read', 'm.read.private', 'm.fully_read'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

export interface Markers {
  'm.fully_read'?: string;
  'm.read'?: string;
  'm.read.private'?: string;
}

/** Spec: 400 when the event is not related to the thread (a direct m.thread relation; thread roots count as theirs). */
function checkThread(event: EventRow, threadId: string): void {
  const rel = event.content['m.relates_to'] as { rel_type?: unknown; event_id?: unknown } | undefined;
  const inThread = rel && typeof rel === 'object' && rel.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : undefined;
  if (threadId === 'main') {
    if (inThread !== undefined) throw invalidParam('The event is in a thread, not in the main timeline.');
  } else if (event.eventId !== threadId && inThread !== threadId) {
    throw invalidParam('The event is not in that thread.');
  }
}

/**
 * Sets any of the user's markers in a room in one transaction. `threadId` applies to the receipts (undefined:
 * unthreaded). Wakes the room for m.read, the user for m.read.private and m.fully_read.
 */
export async function setMarkers(hs: Hs, userId: string, roomId: string, markers: Markers, threadId?: string): Promise<void> {
  if (threadId !== undefined && threadId === '') throw invalidParam('thread_id must be a non-empty string.');
  await requireJoined(hs.sql, userId, roomId, 'You are not joined to this room.');
  const head = await selectStreamHead(hs.sql);
  const events = new Map<string, EventRow>();
  for (const id of new Set(Object.values(markers).filter((v): v is string => v !== undefined))) {
    // An event the user may mark: in this room, committed, and visible to them.
    events.set(id, (await visibleEvent(hs, userId, roomId, id, head)).row);
  }
  const receipts = (['m.read', 'm.read.private'] as const).filter((t) => markers[t] !== undefined);
  if (threadId !== undefined) for (const t of receipts) checkThread(events.get(markers[t]!)!, threadId);

  const wakes = new WakeBatch();
  await transaction(hs.sql, async (tx) => {
    const stamps: ((pos: PositionSql) => Promise<void>)[] = [];
    const fullyRead = markers['m.fully_read'];
    if (fullyRead !== undefined) {
      const key = { userId, roomId, type: 'm.fully_read' };
      await upsertAccountData(tx, { ...key, content: { event_id: fullyRead } });
      stamps.push((pos) => updateAccountDataStreamPos(tx, key, pos));
      onAccountData(wakes, userId);
    }
    for (const receiptType of receipts) {
      const event = events.get(markers[receiptType]!)!;
      const key = { roomId, userId, receiptType, threadId: threadId ?? '' };
      if (!(await upsertReceipt(tx, { ...key, eventId: event.eventId, eventStreamPos: event.streamPos, ts: Date.now() }))) continue;
      stamps.push((pos) => updateReceiptStreamPos(tx, key, pos));
      onReceipt(wakes, { roomId, userId, isPrivate: receiptType === 'm.read.private' });
    }
    if (stamps.length === 0) return;
    // One stream position, taken last, for everything this request changed; COMMIT in the same round trip.
    await stampAtNextPositionAndCommit(tx, stamps);
  });
  wakes.send(hs.notifier);
}

/** POST /receipt/{type}/{eventId}: m.fully_read is the read marker (never threaded). */
export async function postReceipt(hs: Hs, userId: string, roomId: string, receiptType: ReceiptType, eventId: string, threadId?: string): Promise<void> {
  if (receiptType === 'm.fully_read' && threadId !== undefined) throw invalidParam('thread_id cannot be given for m.fully_read.');
  await setMarkers(hs, userId, roomId, { [receiptType]: eventId }, threadId);
}

type ReceiptContent = Record<string, Record<string, Record<string, { ts: number; thread_id?: string }>>>;

/** The m.receipt event of each room, from the receipts (since, head] that the user may see. */
export async function receiptEvents(hs: Hs, userId: string, roomIds: string[], since: number | undefined, head: number): Promise<Map<string, { type: 'm.receipt'; content: ReceiptContent }>> {
  return eventsOf(await selectReceiptsSince(hs.sql, roomIds, userId, since, head));
}

/** As receiptEvents, with each room's own since (undefined: all of its receipts). */
export async function receiptEventsFrom(hs: Hs, userId: string, since: ReadonlyMap<string, number | undefined>, head: number): Promise<Map<string, { type: 'm.receipt'; content: ReceiptContent }>> {
  return eventsOf(await selectReceiptsFrom(hs.sql, [...since].map(([roomId, s]) => [roomId, s ?? -1]), userId, head));
}

function eventsOf(rows: ReceiptRow[]): Map<string, { type: 'm.receipt'; content: ReceiptContent }> {
  const out = new Map<string, { type: 'm.receipt'; content: ReceiptContent }>();
  for (const r of rows) {
    let event = out.get(r.roomId);
    if (!event) out.set(r.roomId, (event = { type: 'm.receipt', content: {} }));
    const byType = (event.content[r.eventId] ??= {});
    const byUser = (byType[r.receiptType] ??= {});
    // One receipt per user and type on an event: an unthreaded one wins over threaded ones (MSC4102).
    if (byUser[r.userId] && byUser[r.userId].thread_id === undefined) continue;
    byUser[r.userId] = r.threadId === '' ? { ts: r.ts } : { ts: r.ts, thread_id: r.threadId };
  }
  return out;
}
