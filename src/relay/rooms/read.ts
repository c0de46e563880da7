/**
 * Reading a room: single events, state, the timeline (/messages) and members. Every read is bounded by the
 * stream watermark and filtered by history visibility; who may read what follows the user's membership.
 */
import type { Hs } from '../../hs.js';
import { notFound } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow } from '../../db/events.js';
import { selectStreamHead } from '../../db/stream.js';
import { clientEvent, type ClientEvent } from './events.js';
import { readableUpTo, requireJoined, requireRoom, visibleEvent } from './access.js';
import { bundleAggregations } from './relations.js';
import { matchesEventFilter, type EventFilter } from '../sync/event-filter.js';
import { parseStreamToken, streamToken } from '../sync/token.js';
import { ignoringOf } from '../ignored-users.js';
import { selectMembersAt } from '../../db/lazy-members.js';

/** The position up to which the user may read the room's state; 404 for an unknown room. */
async function readablePosition(hs: Hs, userId: string, roomId: string): Promise<number> {
  await requireRoom(hs.sql, roomId);
  return (await readableUpTo(hs, userId, roomId, await selectStreamHead(hs.sql))).upTo;
}

export async function getRoomEvent(hs: Hs, userId: string, roomId: string, eventId: string): Promise<ClientEvent> {
  await requireRoom(hs.sql, roomId);
  const [{ row }, ignoring] = await Promise.all([visibleEvent(hs, userId, roomId, eventId, await selectStreamHead(hs.sql)), ignoringOf(hs.sql, userId)]);
  // An ignored user's message event is as if not there (as in /context).
  if (ignoring.hides(row)) throw notFound('Event not found.');
  const [event] = await bundleAggregations(hs, userId, [clientEvent(row)]);
  return event;
}

export async function getRoomState(hs: Hs, userId: string, roomId: string): Promise<ClientEvent[]> {
  const at = await readablePosition(hs, userId, roomId);
  return (await eventsDb.selectStateAt(hs.sql, roomId, at)).map((r) => clientEvent(r));
}

export async function getRoomStateEvent(hs: Hs, userId: string, roomId: string, type: string, stateKey: string): Promise<EventRow> {
  const at = await readablePosition(hs, userId, roomId);
  const row = (await eventsDb.selectStateAt(hs.sql, roomId, at)).find((r) => r.type === type && r.stateKey === stateKey);
  if (!row) throw notFound(`The room has no ${type} state with key ${JSON.stringify(stateKey)}.`);
  return row;
}

export interface MessagesRequest {
  from?: string;
  to?: string;
  dir: 'b' | 'f';
  limit: number;
  filter?: EventFilter;
}

const PAGE_SCAN_LIMIT = 1000;

/**
 * GET /messages: a page of visible events, with start/end tokens; `end` is absent when no visible event matching the
 * filter is left in that direction (the history is exhausted, or the rest is hidden from the user).
 */
export async function getMessages(hs: Hs, userId: string, roomId: string, req: MessagesRequest) {
  await requireRoom(hs.sql, roomId);
  // A user who has left reads up to their leave: that is the head of their view of the room.
  const { upTo: head, view } = await readableUpTo(hs, userId, roomId, await selectStreamHead(hs.sql));
  const from = req.from !== undefined ? Math.min(parseStreamToken(req.from, 'from'), head) : req.dir === 'b' ? head : 0;
  const to = req.to !== undefined ? parseStreamToken(req.to, 'to') : undefined;
  const ignoring = await ignoringOf(hs.sql, userId);
  const chunk: EventRow[] = [];
  let cursor = from;
  // The token after the last event returned; `end` is left out when no visible, matching event follows it.
  let endCursor = from;
  let exhausted = false;
  let more = false;
  // Scan in batches until the page is full and one more visible, matching event is seen, or the history ends.
  let peeked = 0;
  while (!exhausted && !more) {
    const batchSize = Math.min(PAGE_SCAN_LIMIT, Math.max(req.limit * 2, 20));
    const batch =
      req.dir === 'b'
        ? (await eventsDb.selectRoomEventsBackward(hs.sql, roomId, to ?? 0, cursor, batchSize)).reverse()
        : await eventsDb.selectRoomEventsForward(hs.sql, roomId, cursor, to ?? head, batchSize);
    for (const e of batch) {
      const next = req.dir === 'b' ? e.streamPos - 1 : e.streamPos;
      if (view.canSee(e) && matchesEventFilter(req.filter, e) && !ignoring.hides(e)) {
        if (chunk.length >= req.limit) {
          more = true;
          break;
        }
        chunk.push(e);
        endCursor = next;
      } else if (chunk.length >= req.limit) {
        peeked++;
      }
      cursor = next;
    }
    if (batch.length < batchSize) exhausted = true;
    // Unsure after a long look: an `end` costs the client one more (empty) page, a missing one loses history.
    if (peeked >= PAGE_SCAN_LIMIT) more = true;
  }
  // The senders' member events as of the newest event of the chunk (dir=b: its first).
  const newest = req.dir === 'b' ? chunk[0] : chunk.at(-1);
  const members = req.filter?.lazy_load_members && newest ? await sendersMembers(hs, roomId, chunk, newest.streamPos) : [];
  return {
    chunk: await bundleAggregations(hs, userId, chunk.map((r) => clientEvent(r))),
    start: streamToken(from),
    ...(more ? { end: streamToken(endCursor) } : {}),
    ...(members.length > 0 ? { state: members.map((r) => clientEvent(r)) } : {}),
  };
}

/**
 * Lazy-loading members: the member events of the senders of `events` at a position (spec: /messages `state`, /context
 * `state`). No record is kept of what a client was sent through these endpoints: every call carries them.
 */
export async function sendersMembers(hs: Hs, roomId: string, events: EventRow[], at: number): Promise<EventRow[]> {
  const senders = [...new Set(events.map((e) => e.sender))];
  return (await selectMembersAt(hs.sql, roomId, senders, at, undefined)).map(({ known: _known, ...row }) => row);
}

export async function getMembers(
  hs: Hs,
  userId: string,
  roomId: string,
  q: { at?: string; membership?: string; not_membership?: string },
): Promise<ClientEvent[]> {
  let at = await readablePosition(hs, userId, roomId);
  if (q.at !== undefined) at = Math.min(at, parseStreamToken(q.at, 'at'));
  const rows = (await eventsDb.selectStateAt(hs.sql, roomId, at)).filter((r) => r.type === 'm.room.member');
  // Spec: with both, an 'or': the membership is `membership`, or it is not `not_membership`.
  const keep = (m: unknown) => {
    if (q.membership !== undefined && q.not_membership !== undefined) return m === q.membership || m !== q.not_membership;
    return (q.membership === undefined || m === q.membership) && (q.not_membership === undefined || m !== q.not_membership);
  };
  return rows.filter((r) => keep(r.content.membership)).map((r) => clientEvent(r));
}

export async function getJoinedMembers(hs: Hs, userId: string, roomId: string) {
  await requireJoined(hs.sql, userId, roomId, 'You must be joined to the room to list its members.');
  const state = await eventsDb.selectCurrentStateEvents(hs.sql, roomId);
  const out: Record<string, { display_name?: string; avatar_url?: string }> = {};
  for (const r of state) {
    if (r.type !== 'm.room.member' || r.content.membership !== 'join') continue;
    const m: { display_name?: string; avatar_url?: string } = {};
    if (typeof r.content.displayname === 'string') m.display_name = r.content.displayname;
    if (typeof r.content.avatar_url === 'string') m.avatar_url = r.content.avatar_url;
    out[r.stateKey!] = m;
  }
  return { joined: out };
}
