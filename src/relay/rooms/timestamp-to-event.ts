/**
 * GET /rooms/{roomId}/timestamp_to_event (spec v1.6, Element's jump to date): the event nearest a timestamp, at or
 * after it ('f') or at or before it ('b'), among those the user may see (the /messages rules: readableUpTo, then
 * each event through the history-visibility view). Events are read in origin_server_ts order off the index
 * events_room_ts, a batch at a time, until a visible one turns up or the room has no more.
 */
import type { Hs } from '../../hs.js';
import * as eventsDb from '../../db/events.js';
import { selectStreamHead } from '../../db/stream.js';
import { readableUpTo, requireRoom } from './access.js';
import { notFound } from '../../errors.js';

const BATCH = 100;

export async function eventByTimestamp(hs: Hs, userId: string, roomId: string, ts: number, dir: 'f' | 'b'): Promise<{ event_id: string; origin_server_ts: number }> {
  await requireRoom(hs.sql, roomId);
  const { upTo, view } = await readableUpTo(hs, userId, roomId, await selectStreamHead(hs.sql));
  // Just before ts (forwards) or just after it (backwards), so that events at exactly ts count.
  let cursor: eventsDb.TsCursor = { ts, pos: dir === 'f' ? -1 : Number.MAX_SAFE_INTEGER };
  for (;;) {
    const batch = await eventsDb.selectRoomEventsByTs(hs.sql, roomId, dir, cursor, upTo, BATCH);
    const found = batch.find((e) => view.canSee(e));
    if (found) return { event_id: found.eventId, origin_server_ts: Number(found.originServerTs) };
    const last = batch.at(-1);
    if (!last || batch.length < BATCH) break;
    cursor = { ts: Number(last.originServerTs), pos: Number(last.streamPos) };
  }
  throw notFound(`No event found ${dir === 'f' ? 'at or after' : 'at or before'} ${ts}.`);
}
