/**
 * Removing an event's content from every copy the server keeps, inside the transaction that writes the room (a
 * redaction, or the erasure of a deactivated account's events): the
 * event row (the redaction algorithm of its room version), the unsigned.prev_content the next state event holds of
 * it, the redacted_because of the event a redaction redacted, the edits of a message by its sender, the relation
 * index, and the room's state in this process's memory. Other processes' cached state is keyed by the room's head,
 * which every caller moves (a redaction event) or clears (erasure), so they reload it from the database.
 */
import type { EventRow } from '../../db/events.js';
import * as eventsDb from '../../db/events.js';
import * as erasureDb from '../../db/erasure.js';
import { redactedContent } from './events.js';
import { unindexRelation } from './relations.js';
import { appendEvent, replaceStateRowIfCurrent, stateRewritten, writeRoom, type EventDraft, type OpenRoom } from './append.js';
import { roomVersionOf } from './room-versions.js';
import { MatrixError } from '../../errors.js';
import type { Hs } from '../../hs.js';

/** What unsigned keeps once redacted: what the state replaced (an id and a user id), never another event's content. */
function prunedUnsigned(unsigned: Record<string, unknown>, because: object): Record<string, unknown> {
  const out: Record<string, unknown> = { redacted_because: because };
  if (unsigned.replaces_state !== undefined) out.replaces_state = unsigned.replaces_state;
  if (unsigned.prev_sender !== undefined) out.prev_sender = unsigned.prev_sender;
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Redacts `target` in place (`because` becomes its unsigned.redacted_because) and every copy of its content; also its
 * edits by the same sender, which are versions of the same message. Returns the redacted row.
 */
export async function removeContent(room: OpenRoom, target: EventRow, because: object): Promise<EventRow> {
  const tx = room.tx;
  const content = redactedContent(room.roomVersion, target.type, target.content);
  const redacted: EventRow = { ...target, content, unsigned: prunedUnsigned(target.unsigned, because) };
  await eventsDb.updateEventRedacted(tx, target.eventId, redacted.content, redacted.unsigned);
  await unindexRelation(tx, target);
  replaceStateRowIfCurrent(room, redacted);

  if (target.stateKey !== null) {
    // The state event that replaced this one carries its content as prev_content: it gets the redacted content.
    const next = await erasureDb.selectReplacingStateEvent(tx, target);
    if (next && next.unsigned.prev_content !== undefined) {
      const unsigned = { ...next.unsigned, prev_content: content };
      await erasureDb.updateUnsigned(tx, next.eventId, unsigned);
      replaceStateRowIfCurrent(room, { ...next, unsigned });
    }
  }

  if (target.type === 'm.room.redaction') {
    // The event this redaction redacted carries it (with its reason) as redacted_because.
    const redactedId = target.redacts ?? target.content.redacts;
    const victim = typeof redactedId === 'string' ? await eventsDb.selectEvent(tx, redactedId) : undefined;
    const carried = victim?.unsigned.redacted_because;
    if (victim && isObject(carried) && carried.event_id === target.eventId) {
      const unsigned = { ...victim.unsigned, redacted_because: { ...carried, content, unsigned: {} } };
      await erasureDb.updateUnsigned(tx, victim.eventId, unsigned);
      replaceStateRowIfCurrent(room, { ...victim, unsigned });
    }
  }

  for (const edit of await erasureDb.selectEditsBy(tx, target.eventId, target.sender)) await removeContent(room, edit, because);
  return redacted;
}

/** Redactions one transaction appends for an erasure (a long history takes several transactions). */
const REDACTIONS_PER_TRANSACTION = 200;

/**
 * Erasure as redaction events, in a room the user is still joined to (before they leave it): each of their message
 * and membership events not yet redacted gets an m.room.redaction from them, so that every client that already synced
 * the event drops its copy too (a rewrite in place reaches no client). Where the room's power levels do not let the
 * user redact, nothing is appended, and eraseEventsOf removes the content in place afterwards. Returns how many
 * redaction events were sent.
 */
export async function redactEventsOf(hs: Hs, userId: string, roomId: string): Promise<number> {
  let sent = 0;
  for (;;) {
    let appended: number;
    try {
      appended = await writeRoom(hs, roomId, async (room) => {
        const version = roomVersionOf(room.roomVersion);
        const own = (await erasureDb.selectErasableEvents(room.tx, roomId, userId)).filter((e) => e.sender === userId && e.type !== 'm.room.redaction');
        const batch = own.slice(0, REDACTIONS_PER_TRANSACTION);
        for (const target of batch) {
          const draft: EventDraft = version.redactsInContent
            ? { type: 'm.room.redaction', content: { redacts: target.eventId } }
            : { type: 'm.room.redaction', content: {}, redacts: target.eventId };
          await appendEvent(hs, room, userId, draft, { trusted: true });
        }
        return batch.length;
      });
    } catch (err) {
      // The authorization rules refuse the user's redactions here (the room's redaction level): erased in place.
      if (err instanceof MatrixError && err.status === 403) return sent;
      throw err;
    }
    sent += appended;
    if (appended < REDACTIONS_PER_TRANSACTION) return sent;
  }
}

/**
 * Erasure (deactivation with erase: true): every message event the user sent and every membership event they sent
 * or that is about them (their display name and avatar copies) loses its content, room by room, each under the
 * room's lock. What redactEventsOf could not reach (rooms the user had left, events others sent about them, rooms where
 * they may not redact) is rewritten in place, without a redaction event: the room's head is cleared instead,
 * so that no process keeps the erased state in its cache. State that runs the room stays.
 */
export async function eraseEventsOf(hs: Hs, userId: string): Promise<number> {
  let erased = 0;
  for (const roomId of await erasureDb.selectRoomsWithEventsOf(hs.sql, userId)) {
    erased += await writeRoom(hs, roomId, async (room) => {
      const rows = await erasureDb.selectErasableEvents(room.tx, roomId, userId);
      if (rows.length === 0) return 0;
      const because = { type: 'm.room.redaction', room_id: roomId, sender: userId, origin_server_ts: Date.now(), content: {}, unsigned: {} };
      for (const row of rows) await removeContent(room, row, because);
      await stateRewritten(room);
      return rows.length;
    });
  }
  return erased;
}
