/**
 * Who may look into a room, in one place. A room must exist (requireRoom); a user's membership in a room is one
 * row (membershipOf); reading keeps one rule (readableUpTo): joined or world-readable -> up to now; left or banned
 * after having joined -> up to the moment they left; anyone else (never joined, invited, knocking) is refused.
 */
import type { Hs } from '../../hs.js';
import type { Db } from '../../db/database.js';
import { forbidden, notFound } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow } from '../../db/events.js';
import * as roomsDb from '../../db/rooms.js';
import { visibilityFor, type VisibilityView } from './visibility.js';

/** 404 M_NOT_FOUND unless the server knows the room. */
export async function requireRoom(db: Db, roomId: string, message = 'Unknown room.'): Promise<roomsDb.RoomRow> {
  const room = await roomsDb.selectRoom(db, roomId);
  if (!room) throw notFound(message);
  return room;
}

/** The user's current membership in the room ('join', 'invite', 'knock', 'leave', 'ban'); undefined: never any. */
export async function membershipOf(db: Db, userId: string, roomId: string): Promise<string | undefined> {
  return (await roomsDb.selectMembership(db, userId, roomId))?.membership;
}

/** The user's current memberships by room, for rules that look at several rooms at once (space summaries). */
export async function membershipsOf(db: Db, userId: string): Promise<Map<string, string>> {
  return new Map((await roomsDb.selectMembershipsOfUser(db, userId)).map((r) => [r.roomId, r.membership]));
}

/**
 * Joined members only: 404 for a room the server does not know, else 403 with `message`. A joined member costs one
 * query; the room is looked up only to tell the refusals apart.
 */
export async function requireJoined(db: Db, userId: string, roomId: string, message: string): Promise<void> {
  if ((await membershipOf(db, userId, roomId)) === 'join') return;
  await requireRoom(db, roomId);
  throw forbidden(message);
}

/** What a user may read of a room: events and state up to `upTo`, each event further filtered by `view`. */
export interface Readable {
  upTo: number;
  view: VisibilityView;
}

/**
 * The room-read rule, as of `head` (the watermark): joined or world-readable -> head; left or banned after having
 * joined -> the position of that leave or ban; otherwise 403 (an unknown room too: callers that answer 404 for it
 * call requireRoom first).
 */
export async function readableUpTo(hs: Hs, userId: string, roomId: string, head: number): Promise<Readable> {
  const view = await visibilityFor(hs.sql, roomId, userId, head);
  if (view.membershipAt(head) === 'join' || view.historyVisibilityAt(head) === 'world_readable') return { upTo: head, view };
  const last = view.memberEvents.at(-1);
  const gone = last?.content.membership === 'leave' || last?.content.membership === 'ban';
  if (last && gone && view.memberEvents.some((m) => m.content.membership === 'join')) return { upTo: last.streamPos, view };
  throw forbidden('You are not allowed to read this room: join it first.');
}

/** One event of the room that the user may see as of `head`; anything else is 404 alike (spec), so nothing leaks. */
export async function visibleEvent(hs: Hs, userId: string, roomId: string, eventId: string, head: number): Promise<{ row: EventRow; view: VisibilityView }> {
  const row = await eventsDb.selectEvent(hs.sql, eventId);
  if (!row || row.roomId !== roomId || row.streamPos > head) throw notFound('Event not found.');
  const view = await visibilityFor(hs.sql, roomId, userId, head);
  if (!view.canSee(row)) throw notFound('Event not found.');
  return { row, view };
}
