/**
 * GET /rooms/{roomId}/aliases: the aliases this server holds for a room. Joined members, server admins, and anyone
 * when the room is world-readable may read them; everyone else (an unknown room too) gets 403, as the spec lists.
 */
import type { Hs } from '../../hs.js';
import { forbidden } from '../../errors.js';
import { selectAliasesOfRoom } from '../../db/directory.js';
import { summarizeRooms } from './summary.js';
import { membershipOf } from '../rooms/access.js';
import { checkRoomId } from './room-ids.js';

export async function getLocalAliases(hs: Hs, requester: { userId: string; isAdmin: boolean }, roomId: string): Promise<{ aliases: string[] }> {
  checkRoomId(roomId);
  const room = (await summarizeRooms(hs.sql, [roomId])).get(roomId);
  const joined = (await membershipOf(hs.sql, requester.userId, roomId)) === 'join';
  if (!room || !(joined || requester.isAdmin || room.chunk.world_readable)) throw forbidden('You are not a member of the room.');
  return { aliases: await selectAliasesOfRoom(hs.sql, roomId) };
}
