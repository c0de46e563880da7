/**
 * The user's room list and the lists' windows over it (MSC4186 "Lists"): every room the user is joined to, invited
 * to, knocking on or banned from, those they were kicked from, and those they left since the client's pos; ordered
 * by recency (the newest bumping event, or the membership for rooms not joined), newest first, ties by room id. Each
 * list filters it (is_dm, is_encrypted, is_invite, room_types, not_room_types, spaces, tags, not_tags), counts it,
 * and takes the rooms its ranges index.
 */
import type { ListRoomRow } from '../../db/sliding-sync.js';
import type { ListFilters, ListParams } from './types.js';

export interface ListInputs {
  userId: string;
  /** The stream position of the client's pos (undefined on a new connection). */
  since: number | undefined;
  rooms: ListRoomRow[];
  directRooms: Set<string>;
  /** Tag names by room (only read when a list filters by tags). */
  tags: Map<string, Set<string>>;
  /** Rooms named by an m.space.child of a space a list filters by, by space. */
  spaceChildren: Set<string>;
}

/** The stamp a room is ordered by and sent as bump_stamp. */
export function bumpStamp(r: ListRoomRow): number {
  return r.membership === 'join' ? (r.bump ?? r.membershipPos) : r.membershipPos;
}

/** Whether a membership puts the room in the user's list at all. */
export function inServerList(r: ListRoomRow, userId: string, since: number | undefined): boolean {
  if (r.forgotten) return false;
  if (r.membership !== 'leave') return true;
  // A kick (someone else's leave) always; the user's own leave (or rejected invite) only when it is news to the client.
  return (r.leaveSender !== null && r.leaveSender !== userId) || (since !== undefined && r.membershipPos > since);
}

/** The m.direct content's room ids. */
export function directRoomsOf(direct: Record<string, unknown> | undefined): Set<string> {
  const rooms = new Set<string>();
  for (const list of Object.values(direct ?? {})) if (Array.isArray(list)) for (const r of list) if (typeof r === 'string') rooms.add(r);
  return rooms;
}

function passes(f: ListFilters, r: ListRoomRow, x: ListInputs): boolean {
  if (f.isDm !== undefined && x.directRooms.has(r.roomId) !== f.isDm) return false;
  if (f.isEncrypted !== undefined && r.encrypted !== f.isEncrypted) return false;
  if (f.isInvite !== undefined && (r.membership === 'invite') !== f.isInvite) return false;
  if (f.roomTypes !== undefined && !f.roomTypes.includes(r.roomType)) return false;
  if (f.notRoomTypes !== undefined && f.notRoomTypes.includes(r.roomType)) return false;
  if (f.spaces !== undefined && !x.spaceChildren.has(r.roomId)) return false;
  const tags = x.tags.get(r.roomId);
  if (f.notTags !== undefined && f.notTags.some((t) => tags?.has(t))) return false;
  if (f.tags !== undefined && !f.tags.some((t) => tags?.has(t))) return false;
  return true;
}

/** The whole ordered server list (rooms the lists are cut from). */
export function orderedRooms(x: ListInputs): ListRoomRow[] {
  return x.rooms
    .filter((r) => inServerList(r, x.userId, x.since))
    .sort((a, b) => bumpStamp(b) - bumpStamp(a) || (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
}

/** One list: how many rooms pass its filters, and the rooms its ranges take (in list order, without repeats). */
export function cutList(ordered: ListRoomRow[], list: ListParams, x: ListInputs): { count: number; window: ListRoomRow[] } {
  const filtered = ordered.filter((r) => passes(list.filters, r, x));
  if (list.ranges === undefined) return { count: filtered.length, window: filtered };
  // Ranges sorted by their start and each index taken once, so that overlapping ranges (a body may hold 100 lists of
  // 100 ranges [0, 2^53-1]) cost one pass over the list, not one per range.
  const last = filtered.length - 1;
  const ranges = list.ranges.filter(([from, to]) => from <= to && from <= last).sort(([a], [b]) => a - b);
  const window: ListRoomRow[] = [];
  let next = 0;
  for (const [from, to] of ranges) {
    for (let i = Math.max(from, next); i <= Math.min(to, last); i++) window.push(filtered[i]);
    next = Math.max(next, Math.min(to, last) + 1);
  }
  return { count: filtered.length, window };
}
