/**
 * Each process keeps, per user, the room list it last read (Hs.roomLists): the next request reads only what changed
 * since (db/sliding-sync.ts selectRoomListChanges: the user's membership changes, bumping events and encryption in
 * their rooms, in the stream range since), so that an incremental request costs the same for 10 rooms or 1,000. The
 * changes come from the database, so the list is right whichever process wrote them; a process that does not know
 * the user (or has not refreshed it for a while, or finds too many changes) reads the whole list. Every rule applied
 * is monotone (a membership only moves to a later position, a bump only up), so concurrent requests may apply
 * changes in any order.
 */
import type { Db } from '../../db/database.js';
import { selectRoomList, selectRoomListChanges, type ListRoomRow, type ProbeResult, type RoomsProbe } from '../../db/sliding-sync.js';
import { Lru } from '../../lib/lru.js';

const USERS = 2000;
/** Weight budget: list rows over all users. */
const ROWS = 2_000_000;
/** A user's list is read in full again after this long (a safety net for changes outside the stream, e.g. purges). */
const REFRESH_MS = 10 * 60_000;
/** More changes than this since the last read: read the whole list. */
const MAX_CHANGES = 2000;

interface Entry {
  head: number;
  loadedAt: number;
  rooms: Map<string, ListRoomRow>;
}

export class RoomListCache {
  private readonly entries = new Lru<string, Entry>(USERS, ROWS);

  /**
   * The user's room list at a watermark (at least as new as any read before this call). With a probe, its answer
   * when it was read in the changes' statement at that same watermark (undefined otherwise: the caller reads itself).
   */
  async read(db: Db, userId: string, probe?: RoomsProbe): Promise<{ head: number; rooms: ListRoomRow[]; probed?: ProbeResult }> {
    const entry = this.entries.get(userId);
    if (entry && Date.now() - entry.loadedAt < REFRESH_MS) {
      const changes = await selectRoomListChanges(db, userId, entry.head, MAX_CHANGES, probe);
      if (changes) {
        for (const m of changes.memberships) {
          const had = entry.rooms.get(m.roomId);
          if (!had || m.membershipPos >= had.membershipPos) entry.rooms.set(m.roomId, m);
        }
        for (const [roomId, pos] of changes.bumps) {
          const r = entry.rooms.get(roomId);
          if (r && (r.bump === null || pos > r.bump)) r.bump = pos;
        }
        for (const roomId of changes.encrypted) {
          const r = entry.rooms.get(roomId);
          if (r) r.encrypted = true;
        }
        const forgotten = new Set(changes.forgotten);
        for (const r of entry.rooms.values()) r.forgotten = forgotten.has(r.roomId);
        entry.head = Math.max(entry.head, changes.head);
        // A concurrent read may have moved the list past this statement's watermark: the probe then does not cover it.
        const probed = entry.head === changes.head ? changes.probed : undefined;
        return { head: entry.head, rooms: [...entry.rooms.values()].map((r) => ({ ...r })), probed };
      }
    }
    const full = await selectRoomList(db, userId);
    this.entries.set(userId, { head: full.head, loadedAt: Date.now(), rooms: new Map(full.rooms.map((r) => [r.roomId, { ...r }])) }, Math.max(1, full.rooms.length));
    return full;
  }
}
