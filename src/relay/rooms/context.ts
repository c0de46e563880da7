/**
 * GET /context: the events just before and after one event, the state at the last one returned, and /messages
 * tokens to page on. The event must be visible to the user (else 404); so must every surrounding event returned.
 */
import type { Hs } from '../../hs.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow } from '../../db/events.js';
import { selectStreamHead } from '../../db/stream.js';
import { clientEvent } from './events.js';
import type { VisibilityView } from './visibility.js';
import { bundleAggregations } from './relations.js';
import { sendersMembers } from './read.js';
import { visibleEvent } from './access.js';
import { matchesEventFilter, type EventFilter } from '../sync/event-filter.js';
import { streamToken } from '../sync/token.js';
import { ignoringOf } from '../ignored-users.js';
import { notFound } from '../../errors.js';

const MAX_LIMIT = 100;

/** Up to `limit` visible, matching events of a room beyond `pos` (before it for 'b', after it for 'f'), nearest first. */
async function scan(hs: Hs, roomId: string, dir: 'b' | 'f', pos: number, head: number, limit: number, keep: (e: EventRow) => boolean): Promise<EventRow[]> {
  const out: EventRow[] = [];
  let cursor = pos;
  while (out.length < limit) {
    const batchSize = Math.min(1000, Math.max(limit * 2, 20));
    const batch =
      dir === 'b'
        ? (await eventsDb.selectRoomEventsBackward(hs.sql, roomId, 0, cursor, batchSize)).reverse()
        : await eventsDb.selectRoomEventsForward(hs.sql, roomId, cursor, head, batchSize);
    for (const e of batch) {
      cursor = dir === 'b' ? e.streamPos - 1 : e.streamPos;
      if (keep(e)) out.push(e);
      if (out.length >= limit) break;
    }
    if (batch.length < batchSize) break;
  }
  return out;
}

export async function getEventContext(hs: Hs, userId: string, roomId: string, eventId: string, req: { limit: number; filter?: EventFilter }) {
  const head = await selectStreamHead(hs.sql);
  const [{ row, view }, ignoring] = await Promise.all([visibleEvent(hs, userId, roomId, eventId, head), ignoringOf(hs.sql, userId)]);
  // An ignored user's event is not sent, on its own either: as if it were not there (404, as for an unseen event).
  if (ignoring.hides(row)) throw notFound('Event not found.');
  const limit = Math.min(req.limit, MAX_LIMIT);
  // The limit is shared: half before (rounded down), the rest after.
  const beforeLimit = Math.floor(limit / 2);
  const keep = (v: VisibilityView) => (e: EventRow) => v.canSee(e) && matchesEventFilter(req.filter, e) && !ignoring.hides(e);
  const before = beforeLimit > 0 ? await scan(hs, roomId, 'b', row.streamPos - 1, head, beforeLimit, keep(view)) : [];
  const after = limit - beforeLimit > 0 ? await scan(hs, roomId, 'f', row.streamPos, head, limit - beforeLimit, keep(view)) : [];
  const last = after.at(-1) ?? row;
  let state = (await eventsDb.selectStateAt(hs.sql, roomId, last.streamPos)).filter((e) => matchesEventFilter(req.filter, e));
  if (req.filter?.lazy_load_members) {
    // The senders' member events, whatever the filter's types: they are what it takes to show the events.
    const members = await sendersMembers(hs, roomId, [row, ...before, ...after], last.streamPos);
    state = [...state.filter((e) => e.type !== 'm.room.member'), ...members].sort((a, b) => a.streamPos - b.streamPos);
  }
  const [event, ...rest] = await bundleAggregations(hs, userId, [row, ...before, ...after].map((e) => clientEvent(e)));
  return {
    // /messages with dir=b from `start` returns what precedes events_before; with dir=f from `end`, what follows events_after.
    start: streamToken((before.at(-1) ?? row).streamPos - 1),
    end: streamToken(last.streamPos),
    event,
    events_before: rest.slice(0, before.length),
    events_after: rest.slice(before.length),
    state: state.map((e) => clientEvent(e)),
  };
}
