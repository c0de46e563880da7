/**
 * Receipts and typing are the room's members' business: of the rooms in scope, only those the user is joined to now
 * get them (a list may hold invites and rooms left). One lookup per response, shared by both extensions.
 */
import type { Db } from '../../../db/database.js';
import { selectRoomsWithMembershipsAmong } from '../../../db/rooms.js';

/** Which of the given rooms the user is joined to: one query over `candidates` (every room in any scope), made at the first call. */
export function joinedLookup(db: Db, userId: string, candidates: () => string[]): (roomIds: string[]) => Promise<string[]> {
  let joined: Promise<Set<string>> | undefined;
  return async (roomIds) => {
    joined ??= selectRoomsWithMembershipsAmong(db, userId, candidates(), ['join']).then((r) => new Set(r));
    const set = await joined;
    return roomIds.filter((r) => set.has(r));
  };
}
