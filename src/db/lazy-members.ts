/**
 * Lazy-loading room members: the member events a device has been sent by /sync (`lazy_members_sent`, migration
 * 0014), and the reads that decide which members a sync must send. The record is only a way to send less: a member
 * whose row is missing, or was sent after the client's token, is sent again (redundant is safe, missing is a bug).
 * The snapshot statement (sync-snapshot.ts) deletes the rows a sync's token does not cover and checks the senders
 * of steady rooms in the same read, so an incremental sync without new senders costs no query here.
 */
import type { Db } from './database.js';
import type { EventRow } from './events.js';

/** How many members of one room a device's record keeps at most; the oldest go first (and are sent again if needed). */
export const MEMBERS_KEPT_PER_ROOM = 1000;

/** A member event of `roomId` with whether the device already has it (sent at or before `since`). */
export interface MemberAt extends EventRow {
  known: boolean;
}

/**
 * The member events of `userIds` in a room at a position (the latest at or below it; none for a user with no member
 * event yet), each marked `known` when the device was sent that very event at or before `since` (undefined: none is).
 */
export async function selectMembersAt(
  db: Db,
  roomId: string,
  userIds: string[],
  pos: number,
  device: { userId: string; deviceId: string; since: number | undefined } | undefined,
): Promise<MemberAt[]> {
  if (userIds.length === 0) return [];
  const since = device?.since ?? -1;
  return db<MemberAt[]>`
    SELECT e.*, (s.event_id IS NOT NULL) AS known FROM (
      SELECT DISTINCT ON (state_key) * FROM events
      WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ANY(${userIds}) AND stream_pos <= ${pos}
      ORDER BY state_key, stream_pos DESC
    ) e
    LEFT JOIN lazy_members_sent s
      ON s.user_id = ${device?.userId ?? ''} AND s.device_id = ${device?.deviceId ?? ''} AND s.room_id = e.room_id
      AND s.member_id = e.state_key AND s.event_id = e.event_id AND s.sent_pos <= ${since}
    ORDER BY e.stream_pos`;
}

/** The state changes of a room in (from, to]: the latest state event of each (type, state_key) changed there. */
export async function selectStateChanges(db: Db, roomId: string, from: number, to: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (type, state_key) * FROM events
      WHERE room_id = ${roomId} AND state_key IS NOT NULL AND stream_pos > ${from} AND stream_pos <= ${to}
      ORDER BY type, state_key, stream_pos DESC
    ) s ORDER BY stream_pos`;
}

export interface SentMember {
  roomId: string;
  memberId: string;
  eventId: string;
}

/**
 * Records that a response at `pos` sent these member events to the device (one per room and member: the last wins).
 * A row that already names the same event keeps its earlier position. Each room's record keeps the newest
 * MEMBERS_KEPT_PER_ROOM rows. A device deleted meanwhile (its rows go with it, by cascade) records nothing.
 */
export async function recordSentMembers(db: Db, userId: string, deviceId: string, pos: number, sent: SentMember[]): Promise<void> {
  const byKey = new Map<string, SentMember>();
  for (const s of sent) byKey.set(`${s.roomId}\u0000${s.memberId}`, s);
  if (byKey.size === 0) return;
  const rows = [...byKey.values()];
  await db`
    WITH ins AS (
      INSERT INTO lazy_members_sent (user_id, device_id, room_id, member_id, event_id, sent_pos)
      SELECT ${userId}, ${deviceId}, r, m, e, ${pos}::bigint
      FROM unnest(${rows.map((r) => r.roomId)}::text[], ${rows.map((r) => r.memberId)}::text[], ${rows.map((r) => r.eventId)}::text[]) AS x(r, m, e)
      ON CONFLICT (user_id, device_id, room_id, member_id) DO UPDATE SET
        sent_pos = CASE WHEN lazy_members_sent.event_id = EXCLUDED.event_id THEN least(lazy_members_sent.sent_pos, EXCLUDED.sent_pos) ELSE EXCLUDED.sent_pos END,
        event_id = EXCLUDED.event_id
      RETURNING room_id
    )
    DELETE FROM lazy_members_sent d
    USING (SELECT DISTINCT room_id FROM ins) r
    WHERE d.user_id = ${userId} AND d.device_id = ${deviceId} AND d.room_id = r.room_id
      AND d.sent_pos < (
        SELECT s.sent_pos FROM lazy_members_sent s
        WHERE s.user_id = ${userId} AND s.device_id = ${deviceId} AND s.room_id = r.room_id
        ORDER BY s.sent_pos DESC OFFSET ${MEMBERS_KEPT_PER_ROOM} LIMIT 1)`.catch((e: unknown) => {
    // foreign_key_violation: the device is gone.
    if ((e as { code?: string }).code !== '23503') throw e;
  });
}
