/**
 * Reads and purges that only server administration needs: pages of users and rooms, and a room's purge.
 * Pages are keyset pages (ordered by id, `after` the last id of the previous page), so they stay stable under writes.
 */
import type { Db, Tx } from './database.js';
import type { UserRow } from './users.js';

/** LIKE pattern for "contains `text`", with the pattern's own wildcards escaped. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Users ordered by user id after `after`, at most `limit`; `search` matches a substring of the id or display name. */
export async function selectUsersPage(db: Db, p: { after?: string; search?: string; limit: number }): Promise<UserRow[]> {
  const pattern = p.search !== undefined ? containsPattern(p.search) : undefined;
  return db<UserRow[]>`
    SELECT * FROM users
    WHERE true
      ${p.after !== undefined ? db`AND user_id > ${p.after}` : db``}
      ${pattern !== undefined ? db`AND (user_id ILIKE ${pattern} ESCAPE '\\' OR profile->>'displayname' ILIKE ${pattern} ESCAPE '\\')` : db``}
    ORDER BY user_id LIMIT ${p.limit}`;
}

export interface RoomSummaryRow {
  roomId: string;
  roomVersion: string;
  creator: string;
  createdTs: number;
  joinedMembers: number;
}

/**
 * Rooms (those that still have their m.room.create state: a deleted room keeps only its members' last membership
 * events) ordered by room id after `after`, with their joined member counts.
 */
export async function selectRoomsPage(db: Db, p: { after?: string; limit: number }): Promise<RoomSummaryRow[]> {
  return db<RoomSummaryRow[]>`
    SELECT r.room_id, r.room_version, r.creator, r.created_ts,
      (SELECT count(*)::int FROM current_state m WHERE m.room_id = r.room_id AND m.type = 'm.room.member' AND m.membership = 'join') AS joined_members
    FROM rooms r
    WHERE EXISTS (SELECT 1 FROM current_state c WHERE c.room_id = r.room_id AND c.type = 'm.room.create' AND c.state_key = '')
      ${p.after !== undefined ? db`AND r.room_id > ${p.after}` : db``}
    ORDER BY r.room_id LIMIT ${p.limit}`;
}

/**
 * Deletes a room's content: every state row but membership, every event that is not a current membership event,
 * the client transaction ids of those events, the room's aliases, directory entry and receipts. With `scrub`, what the kept membership events
 * say about earlier state (unsigned.prev_content, replaces_state) goes too.
 */
export async function purgeRoomContent(tx: Tx, roomId: string, scrub: boolean): Promise<void> {
  await tx`DELETE FROM current_state WHERE room_id = ${roomId} AND type <> 'm.room.member'`;
  await tx`
    DELETE FROM event_txns WHERE event_id IN (
      SELECT event_id FROM events WHERE room_id = ${roomId} AND event_id NOT IN (SELECT event_id FROM current_state WHERE room_id = ${roomId}))`;
  await tx`
    DELETE FROM notifications WHERE stream_pos IN (
      SELECT stream_pos FROM events WHERE room_id = ${roomId} AND event_id NOT IN (SELECT event_id FROM current_state WHERE room_id = ${roomId}))`;
  await tx`DELETE FROM events WHERE room_id = ${roomId} AND event_id NOT IN (SELECT event_id FROM current_state WHERE room_id = ${roomId})`;
  await tx`DELETE FROM room_aliases WHERE room_id = ${roomId}`;
  // The rooms row stays (the kept membership events need it): what else hangs on it goes explicitly.
  await tx`DELETE FROM published_rooms WHERE room_id = ${roomId}`;
  await tx`DELETE FROM receipts WHERE room_id = ${roomId}`;
  if (scrub) await tx`UPDATE events SET unsigned = '{}'::jsonb WHERE room_id = ${roomId} AND unsigned <> '{}'::jsonb`;
}
