/**
 * The published room directory: whether a room is listed, who may list it (a server admin, or a joined member with
 * the power to set m.room.canonical_alias, as Synapse does), and the paginated, filtered listing.
 */
import type { Hs } from '../../hs.js';
import { forbidden, invalidParam } from '../../errors.js';
import * as directoryDb from '../../db/directory.js';
import { selectStateAt } from '../../db/events.js';
import { selectStreamHead } from '../../db/stream.js';
import { roomStateOfRows } from '../rooms/events.js';
import { requiredPowerLevel, userPowerLevel } from '../rooms/power-levels.js';
import { checkRoomId } from './room-ids.js';
import { requireRoom } from '../rooms/access.js';
import { summarizeRooms, type RoomChunk } from './summary.js';

export type Visibility = 'public' | 'private';

async function requireListableRoom(hs: Hs, roomId: string): Promise<void> {
  checkRoomId(roomId);
  await requireRoom(hs.sql, roomId, 'Room not found.');
}

export async function getDirectoryVisibility(hs: Hs, roomId: string): Promise<{ visibility: Visibility }> {
  await requireListableRoom(hs, roomId);
  return { visibility: (await directoryDb.selectIsPublished(hs.sql, roomId)) ? 'public' : 'private' };
}

export async function setDirectoryVisibility(hs: Hs, requester: { userId: string; isAdmin: boolean }, roomId: string, visibility: Visibility): Promise<void> {
  await requireListableRoom(hs, roomId);
  if (!requester.isAdmin) {
    const state = roomStateOfRows(await selectStateAt(hs.sql, roomId, await selectStreamHead(hs.sql)));
    if (state.get('m.room.member', requester.userId)?.content.membership !== 'join') throw forbidden('You must be joined to the room to change its directory visibility.');
    if (userPowerLevel(state, requester.userId) < requiredPowerLevel(state, 'm.room.canonical_alias', true)) {
      throw forbidden('Changing the directory visibility needs the power level to set m.room.canonical_alias.');
    }
  }
  if (visibility === 'public') await directoryDb.insertPublishedRoom(hs.sql, roomId);
  else await directoryDb.deletePublishedRoom(hs.sql, roomId);
}

export interface PublicRoomsRequest {
  limit?: number;
  since?: string;
  server?: string;
  filter?: { generic_search_term?: string; room_types?: (string | null)[] };
  third_party_instance_id?: string;
}

/** Without a limit, a page has this many rooms; no page has more than MAX_LIMIT. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

/** Pagination tokens are offsets into the ordered, filtered listing: `p<offset>`. */
const token = (offset: number) => `p${offset}`;
function parseToken(since: string): number {
  const m = /^p(0|[1-9][0-9]{0,8})$/.exec(since);
  if (!m) throw invalidParam('Unknown pagination token (since).');
  return Number(m[1]);
}

function matchesTerm(room: { chunk: RoomChunk; altAliases: string[] }, term: string): boolean {
  const needle = term.toLowerCase();
  const fields = [room.chunk.name, room.chunk.topic, room.chunk.canonical_alias, ...room.altAliases];
  return fields.some((f) => f !== undefined && f.toLowerCase().includes(needle));
}

/** Ordered by joined members, most first, then by room id: stable between pages. An empty room_types filters nothing. */
export async function listPublicRooms(hs: Hs, req: PublicRoomsRequest) {
  if (req.server !== undefined && req.server !== hs.config.serverName) throw invalidParam(`This server does not federate: only ${hs.config.serverName}'s directory is available.`);
  const offset = req.since === undefined ? 0 : parseToken(req.since);
  const limit = Math.min(req.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  // No application services bridge third-party networks here: a third-party instance has no rooms.
  if (req.third_party_instance_id !== undefined) return { chunk: [], total_room_count_estimate: 0 };
  const summaries = [...(await summarizeRooms(hs.sql, await directoryDb.selectPublishedRoomIds(hs.sql))).values()];
  const term = req.filter?.generic_search_term?.trim();
  const types = req.filter?.room_types;
  const rooms = summaries
    .filter((s) => !term || matchesTerm(s, term))
    .filter((s) => types === undefined || types.length === 0 || types.includes(s.chunk.room_type ?? null))
    .map((s) => s.chunk)
    .sort((a, b) => b.num_joined_members - a.num_joined_members || (a.room_id < b.room_id ? -1 : 1));
  const chunk = rooms.slice(offset, offset + limit);
  return {
    chunk,
    ...(offset + limit < rooms.length ? { next_batch: token(offset + limit) } : {}),
    ...(offset > 0 ? { prev_batch: token(Math.max(0, offset - limit)) } : {}),
    total_room_count_estimate: rooms.length,
  };
}
