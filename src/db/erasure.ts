/**
 * The SQL that removes an event's content from the copies other rows keep of it: the unsigned.prev_content of the
 * state event that replaced it, the redacted_because of the event a redaction redacted, the edits of a message; and
 * the rows of a user whose account is erased.
 */
import type { Db } from './database.js';
import type { EventRow } from './events.js';

/** The state event that replaced `replaced` (it holds the replaced content in unsigned.prev_content), if any. */
export async function selectReplacingStateEvent(db: Db, replaced: EventRow): Promise<EventRow | undefined> {
  const [row] = await db<EventRow[]>`
    SELECT * FROM events
    WHERE room_id = ${replaced.roomId} AND type = ${replaced.type} AND state_key = ${replaced.stateKey} AND stream_pos > ${replaced.streamPos}
      AND unsigned->>'replaces_state' = ${replaced.eventId}
    ORDER BY stream_pos LIMIT 1`;
  return row;
}

export async function updateUnsigned(db: Db, eventId: string, unsigned: Record<string, unknown>): Promise<void> {
  await db`UPDATE events SET unsigned = ${db.json(unsigned as never)} WHERE event_id = ${eventId}`;
}

/** The edits (m.replace) of `parentId` sent by `sender`, not yet redacted. */
export async function selectEditsBy(db: Db, parentId: string, sender: string): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT e.* FROM event_relations r JOIN events e ON e.event_id = r.event_id
    WHERE r.relates_to_id = ${parentId} AND r.rel_type = 'm.replace' AND r.sender = ${sender} AND e.unsigned->'redacted_because' IS NULL
    ORDER BY e.stream_pos`;
}

/** Rooms holding events a user sent, or membership events about them. */
export async function selectRoomsWithEventsOf(db: Db, userId: string): Promise<string[]> {
  const rows = await db<{ roomId: string }[]>`
    SELECT DISTINCT room_id FROM events WHERE sender = ${userId}
    UNION SELECT DISTINCT room_id FROM events WHERE type = 'm.room.member' AND state_key = ${userId}`;
  return rows.map((r) => r.roomId);
}

/**
 * What erasure removes in a room: the user's message events and the membership events they sent or that are about
 * them (their profile copies), not yet redacted. State that runs the room (encryption, power levels, ...) stays.
 */
export async function selectErasableEvents(db: Db, roomId: string, userId: string): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT * FROM events
    WHERE room_id = ${roomId} AND unsigned->'redacted_because' IS NULL
      AND ((sender = ${userId} AND (state_key IS NULL OR type = 'm.room.member')) OR (type = 'm.room.member' AND state_key = ${userId}))
    ORDER BY stream_pos`;
}

/** Every backed-up session of the user goes, and every version is deleted (its public auth_data with it). */
export async function eraseKeyBackups(db: Db, userId: string): Promise<void> {
  await db`DELETE FROM key_backup_sessions WHERE user_id = ${userId}`;
  await db`UPDATE key_backup_versions SET deleted = true, auth_data = '{}'::jsonb WHERE user_id = ${userId}`;
}
