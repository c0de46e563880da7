/**
 * Server administration of rooms: list them with their joined member counts, and delete one. Deleting is one
 * transaction on the locked room: its content goes, and every member leaves, so that their /sync shows it as left.
 */
import type { Hs } from '../../hs.js';
import { notFound } from '../../errors.js';
import { purgeRoomContent, selectRoomsPage } from '../../db/admin.js';
import { appendEvent, currentStateOf, stateRewritten, writeRoom } from '../rooms/append.js';
import { logAdminAction } from './audit.js';

export interface AdminRoom {
  room_id: string;
  room_version: string;
  creator: string;
  creation_ts: number;
  joined_members: number;
}

const ROOM_DELETED_REASON = 'This room was deleted by a server administrator.';

export async function listRooms(hs: Hs, p: { from?: string; limit: number }): Promise<{ rooms: AdminRoom[]; next_from?: string }> {
  const rows = await selectRoomsPage(hs.sql, { after: p.from, limit: p.limit + 1 });
  const page = rows.slice(0, p.limit);
  return {
    rooms: page.map((r) => ({ room_id: r.roomId, room_version: r.roomVersion, creator: r.creator, creation_ts: r.createdTs, joined_members: r.joinedMembers })),
    ...(rows.length > p.limit ? { next_from: page[page.length - 1].roomId } : {}),
  };
}

/**
 * Deletes a room: its events, state and aliases are purged from the database. What stays is each (former) member's
 * last membership event, a leave for everyone who was joined, invited or knocking: that is how their next /sync
 * learns that the room is gone, and without its m.room.create event nobody can write to the room again.
 * Returns the users who were made to leave.
 */
export async function deleteRoom(hs: Hs, admin: string, roomId: string): Promise<{ removed: string[] }> {
  const removed = await writeRoom(hs, roomId, async (room) => {
    if (!currentStateOf(room, 'm.room.create')) throw notFound('Unknown room.');
    const members = [...room.state.values()]
      .filter((e) => e.type === 'm.room.member' && ['join', 'invite', 'knock'].includes(String(e.content.membership)))
      .map((e) => e.stateKey!);
    // The bulk of the purge runs before the leaves take their stream positions (and with them the stream head's lock).
    await purgeRoomContent(room.tx, roomId, false);
    // The leaves are checked against the room's state as it was loaded (still in memory), like any member's leave.
    for (const userId of members) {
      await appendEvent(hs, room, userId, { type: 'm.room.member', state_key: userId, content: { membership: 'leave', reason: ROOM_DELETED_REASON } });
    }
    // What the leaves replaced goes too, and nothing kept remembers earlier state.
    await purgeRoomContent(room.tx, roomId, true);
    // State changed without an event (when nobody had to leave, the head has not even moved): no process may keep
    // serving the room's cached state.
    await stateRewritten(room);
    return members;
  });
  logAdminAction(hs, admin, 'delete_room', { room_id: roomId, removed_members: removed.length });
  return { removed };
}
