/**
 * Directory tables and reads: published rooms, the current state a room summary is made of, local aliases of a room,
 * the user directory search, and the row lock that serialises read-modify-write room account data (m.tag).
 */
import type { Db, Tx } from './database.js';

export async function insertPublishedRoom(db: Db, roomId: string): Promise<void> {
  await db`INSERT INTO published_rooms (room_id, published_ts) VALUES (${roomId}, ${Date.now()}) ON CONFLICT DO NOTHING`;
}

export async function deletePublishedRoom(db: Db, roomId: string): Promise<void> {
  await db`DELETE FROM published_rooms WHERE room_id = ${roomId}`;
}

export async function selectIsPublished(db: Db, roomId: string): Promise<boolean> {
  const rows = await db`SELECT 1 FROM published_rooms WHERE room_id = ${roomId}`;
  return rows.length === 1;
}

export async function selectPublishedRoomIds(db: Db): Promise<string[]> {
  const rows = await db<{ roomId: string }[]>`SELECT room_id FROM published_rooms ORDER BY room_id`;
  return rows.map((r) => r.roomId);
}

export async function selectAliasesOfRoom(db: Db, roomId: string): Promise<string[]> {
  const rows = await db<{ roomAlias: string }[]>`SELECT room_alias FROM room_aliases WHERE room_id = ${roomId} ORDER BY room_alias`;
  return rows.map((r) => r.roomAlias);
}

export interface SummaryStateRow {
  roomId: string;
  type: string;
  stateKey: string;
  sender: string;
  originServerTs: number;
  content: Record<string, unknown>;
}

/**
 * The current state events a room summary needs, for many rooms at once: the given types with an empty state key,
 * and every m.space.child event (keyed by the child's room id).
 */
export async function selectSummaryState(db: Db, roomIds: string[], types: string[]): Promise<SummaryStateRow[]> {
  if (roomIds.length === 0) return [];
  return db<SummaryStateRow[]>`
    SELECT c.room_id, c.type, c.state_key, e.sender, e.origin_server_ts, e.content
    FROM current_state c JOIN events e ON e.event_id = c.event_id
    WHERE c.room_id = ANY(${roomIds}) AND ((c.state_key = '' AND c.type = ANY(${types})) OR c.type = 'm.space.child')`;
}

/** Joined member counts of the given rooms (rooms without joined members are absent). */
export async function selectJoinedCounts(db: Db, roomIds: string[]): Promise<Map<string, number>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db<{ roomId: string; count: string }[]>`
    SELECT room_id, count(*) AS count FROM current_state
    WHERE room_id = ANY(${roomIds}) AND type = 'm.room.member' AND membership = 'join' GROUP BY room_id`;
  return new Map(rows.map((r) => [r.roomId, Number(r.count)]));
}

/** The room versions of those of the given rooms that exist on this server. */
export async function selectRoomVersions(db: Db, roomIds: string[]): Promise<Map<string, string>> {
  if (roomIds.length === 0) return new Map();
  const rows = await db<{ roomId: string; roomVersion: string }[]>`SELECT room_id, room_version FROM rooms WHERE room_id = ANY(${roomIds})`;
  return new Map(rows.map((r) => [r.roomId, r.roomVersion]));
}

/**
 * Locks one account data row for a read-modify-write (e.g. adding one tag to m.tag): a missing row is created
 * empty first, so that concurrent writers queue on the same row lock. Returns the content before the change.
 */
export async function selectAccountDataForUpdate(tx: Tx, k: { userId: string; roomId: string; type: string }): Promise<Record<string, unknown>> {
  await tx`
    INSERT INTO account_data (user_id, room_id, type, content, stream_pos)
    VALUES (${k.userId}, ${k.roomId}, ${k.type}, '{}'::jsonb, 0) ON CONFLICT DO NOTHING`;
  const [row] = await tx<{ content: Record<string, unknown> }[]>`
    SELECT content FROM account_data WHERE user_id = ${k.userId} AND room_id = ${k.roomId} AND type = ${k.type} FOR UPDATE`;
  return row.content;
}

export interface DirectoryUserRow {
  userId: string;
  displayName: string | null;
  avatarUrl: string | null;
}

/**
 * Users the searcher may find: those joined to a room the searcher is joined to, and those joined to a room whose
 * join rule is public or whose history is world-readable; not deactivated. The term matches the user id or the
 * display name, case-insensitively, anywhere. Ranked: a match at the start of the localpart or display name first,
 * then users with a display name, then by user id. At most `limit` rows.
 */
export async function selectDirectoryUsers(db: Db, searcherId: string, term: string, limit: number): Promise<DirectoryUserRow[]> {
  const needle = term.toLowerCase();
  return db<DirectoryUserRow[]>`
    WITH open_rooms AS (
      SELECT c.room_id FROM current_state c JOIN events e ON e.event_id = c.event_id
      WHERE c.state_key = '' AND (
        (c.type = 'm.room.join_rules' AND e.content->>'join_rule' = 'public')
        OR (c.type = 'm.room.history_visibility' AND e.content->>'history_visibility' = 'world_readable'))
    ), my_rooms AS (
      SELECT room_id FROM current_state WHERE type = 'm.room.member' AND state_key = ${searcherId} AND membership = 'join'
    ), visible AS (
      SELECT DISTINCT m.state_key AS user_id FROM current_state m
      WHERE m.type = 'm.room.member' AND m.membership = 'join'
        AND (m.room_id IN (SELECT room_id FROM my_rooms) OR m.room_id IN (SELECT room_id FROM open_rooms))
    )
    SELECT u.user_id, u.profile->>'displayname' AS display_name, u.profile->>'avatar_url' AS avatar_url
    FROM visible v JOIN users u ON u.user_id = v.user_id
    WHERE NOT u.deactivated
      AND (strpos(lower(u.user_id), ${needle}) > 0 OR strpos(lower(coalesce(u.profile->>'displayname', '')), ${needle}) > 0)
    ORDER BY
      (strpos(lower(u.user_id), ${'@' + needle}) = 1 OR strpos(lower(coalesce(u.profile->>'displayname', '')), ${needle}) = 1) DESC,
      (u.profile->>'displayname' IS NOT NULL) DESC,
      u.user_id
    LIMIT ${limit}`;
}
