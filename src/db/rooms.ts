/**
 * Rooms, their current state, aliases and forgotten rooms. Rows are camelCase; state rows point at events. Also the
 * write path's one statement that takes a stream position and inserts the event at it.
 */
import type { Db, Tx } from './database.js';
import type { EventRow } from './events.js';

export interface RoomRow {
  roomId: string;
  roomVersion: string;
  creator: string;
  createdTs: number;
  lastEventId: string | null;
  lastDepth: number;
}

export async function insertRoom(db: Db, r: { roomId: string; roomVersion: string; creator: string }): Promise<void> {
  await db`INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (${r.roomId}, ${r.roomVersion}, ${r.creator}, ${Date.now()})`;
}

/** Inserts the room unless its id is taken (a v12 room id is a hash, which two identical creations share); false then. */
export async function insertNewRoom(db: Db, r: { roomId: string; roomVersion: string; creator: string }): Promise<boolean> {
  const rows = await db`
    INSERT INTO rooms (room_id, room_version, creator, created_ts) VALUES (${r.roomId}, ${r.roomVersion}, ${r.creator}, ${Date.now()})
    ON CONFLICT (room_id) DO NOTHING RETURNING 1`;
  return rows.length === 1;
}

export async function selectRoom(db: Db, roomId: string): Promise<RoomRow | undefined> {
  const [row] = await db<RoomRow[]>`SELECT * FROM rooms WHERE room_id = ${roomId}`;
  return row;
}

/**
 * Locks the room for appending: a room's events are written one transaction at a time. NO KEY UPDATE, not UPDATE:
 * rows that reference the room (a receipt, a notification) take KEY SHARE on it for their foreign key, also while
 * their writer holds the stream head; against a FOR UPDATE room lock held by a writer waiting for the stream head,
 * that was a deadlock (seen between a read receipt and a send).
 */
export async function selectRoomForUpdate(db: Db, roomId: string): Promise<RoomRow | undefined> {
  const [row] = await db<RoomRow[]>`SELECT * FROM rooms WHERE room_id = ${roomId} FOR NO KEY UPDATE`;
  return row;
}

export async function updateRoomHead(db: Db, roomId: string, lastEventId: string, lastDepth: number): Promise<void> {
  await db`UPDATE rooms SET last_event_id = ${lastEventId}, last_depth = ${lastDepth} WHERE room_id = ${roomId}`;
}

/** A room whose state was rewritten without an event (an admin purge): no head identifies its state any more. */
export async function clearRoomHead(db: Db, roomId: string): Promise<void> {
  await db`UPDATE rooms SET last_event_id = NULL WHERE room_id = ${roomId}`;
}

/**
 * Takes the next stream position (src/db/stream.ts: the transaction's last step, as the row lock on the stream
 * head then orders commits by position) and inserts the event at it, in one statement; with `state`, the event
 * also becomes the room's current state for its (type, state_key). Returns the position.
 */
export async function insertEventAtNextPosition(tx: Tx, e: EventRow, state?: { membership: string | null }): Promise<number> {
  const [row] = await tx<{ streamPos: number }[]>`
    WITH p AS (UPDATE stream_head SET pos = nextval('stream_positions') RETURNING pos)
    ${state ? tx`, s AS (
      INSERT INTO current_state (room_id, type, state_key, event_id, stream_pos, membership)
      VALUES (${e.roomId}, ${e.type}, ${e.stateKey}, ${e.eventId}, (SELECT pos FROM p), ${state.membership})
      ON CONFLICT (room_id, type, state_key) DO UPDATE
        SET event_id = EXCLUDED.event_id, stream_pos = EXCLUDED.stream_pos, membership = EXCLUDED.membership)` : tx``}
    INSERT INTO events (stream_pos, event_id, room_id, type, state_key, sender, origin_server_ts, depth, content, prev_events, unsigned, redacts)
    VALUES ((SELECT pos FROM p), ${e.eventId}, ${e.roomId}, ${e.type}, ${e.stateKey}, ${e.sender}, ${e.originServerTs}, ${e.depth},
            ${tx.json(e.content as never)}, ${e.prevEvents}, ${tx.json(e.unsigned as never)}, ${e.redacts})
    RETURNING stream_pos`;
  return row.streamPos;
}

export interface MembershipRow {
  roomId: string;
  membership: string;
  streamPos: number;
  eventId: string;
}

/** The user's current membership in one room: undefined when they never had a member event there. */
export async function selectMembership(db: Db, userId: string, roomId: string): Promise<MembershipRow | undefined> {
  const [row] = await db<MembershipRow[]>`
    SELECT room_id, membership, stream_pos, event_id FROM current_state
    WHERE room_id = ${roomId} AND type = 'm.room.member' AND state_key = ${userId}`;
  return row;
}

/** The user's current membership in every room they have a member event in. */
export async function selectMembershipsOfUser(db: Db, userId: string): Promise<MembershipRow[]> {
  return db<MembershipRow[]>`
    SELECT room_id, membership, stream_pos, event_id FROM current_state
    WHERE type = 'm.room.member' AND state_key = ${userId}`;
}

export async function selectRoomsWithMembership(db: Db, userId: string, membership: string): Promise<string[]> {
  const rows = await db<{ roomId: string }[]>`
    SELECT room_id FROM current_state WHERE type = 'm.room.member' AND state_key = ${userId} AND membership = ${membership}`;
  return rows.map((r) => r.roomId);
}

export async function selectMembersOfRoom(db: Db, roomId: string, membership: string): Promise<string[]> {
  const rows = await db<{ stateKey: string }[]>`
    SELECT state_key FROM current_state WHERE room_id = ${roomId} AND type = 'm.room.member' AND membership = ${membership}`;
  return rows.map((r) => r.stateKey);
}

export async function insertAlias(db: Db, a: { alias: string; roomId: string; creator: string }): Promise<boolean> {
  const rows = await db`
    INSERT INTO room_aliases (room_alias, room_id, creator) VALUES (${a.alias}, ${a.roomId}, ${a.creator}) ON CONFLICT DO NOTHING RETURNING 1`;
  return rows.length === 1;
}

export async function selectAlias(db: Db, alias: string): Promise<{ roomId: string; creator: string } | undefined> {
  const [row] = await db<{ roomId: string; creator: string }[]>`SELECT room_id, creator FROM room_aliases WHERE room_alias = ${alias}`;
  return row;
}

/** The rooms the given aliases point to (those that exist), in one statement. */
export async function selectAliasTargets(db: Db, aliases: string[]): Promise<Map<string, string>> {
  if (aliases.length === 0) return new Map();
  const rows = await db<{ roomAlias: string; roomId: string }[]>`SELECT room_alias, room_id FROM room_aliases WHERE room_alias = ANY(${aliases})`;
  return new Map(rows.map((r) => [r.roomAlias, r.roomId]));
}

/** Points every alias of room `from` to room `to` (a room upgrade); the aliases moved. */
export async function moveAliases(db: Db, from: string, to: string): Promise<string[]> {
  const rows = await db<{ roomAlias: string }[]>`UPDATE room_aliases SET room_id = ${to} WHERE room_id = ${from} RETURNING room_alias`;
  return rows.map((r) => r.roomAlias).sort();
}

export async function deleteAlias(db: Db, alias: string): Promise<void> {
  await db`DELETE FROM room_aliases WHERE room_alias = ${alias}`;
}

export async function insertForgotten(db: Db, userId: string, roomId: string): Promise<void> {
  await db`INSERT INTO forgotten_rooms (user_id, room_id) VALUES (${userId}, ${roomId}) ON CONFLICT DO NOTHING`;
}

export async function deleteForgotten(db: Db, userId: string, roomId: string): Promise<void> {
  await db`DELETE FROM forgotten_rooms WHERE user_id = ${userId} AND room_id = ${roomId}`;
}

/** Users who are joined to or invited into a room where `userId` is joined or invited (the user included). */
export async function selectUsersSharingRooms(db: Db, userId: string): Promise<string[]> {
  const rows = await db<{ stateKey: string }[]>`
    SELECT DISTINCT other.state_key FROM current_state mine
    JOIN current_state other ON other.room_id = mine.room_id AND other.type = 'm.room.member' AND other.membership IN ('join', 'invite')
    WHERE mine.type = 'm.room.member' AND mine.state_key = ${userId} AND mine.membership IN ('join', 'invite')`;
  return rows.map((r) => r.stateKey);
}

/** Membership events in (from, to] in the given rooms: who changed, in which room, to what. */
export async function selectMembershipChanges(db: Db, roomIds: string[], from: number, to: number): Promise<{ roomId: string; stateKey: string; membership: string }[]> {
  if (roomIds.length === 0) return [];
  return db`
    SELECT room_id, state_key, content->>'membership' AS membership FROM events
    WHERE room_id = ANY(${roomIds}) AND type = 'm.room.member' AND stream_pos > ${from} AND stream_pos <= ${to}
    ORDER BY stream_pos` as never;
}

/** Rooms where the user's current membership is one of `memberships`. */
export async function selectRoomsWithMemberships(db: Db, userId: string, memberships: string[]): Promise<string[]> {
  const rows = await db<{ roomId: string }[]>`
    SELECT room_id FROM current_state WHERE type = 'm.room.member' AND state_key = ${userId} AND membership = ANY(${memberships})`;
  return rows.map((r) => r.roomId);
}
