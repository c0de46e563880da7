/**
 * The write path's per-process copy of rooms' current state (one per Hs), so that a send does not read every state
 * event of its room again. It must never be stale, also with several processes on one database, hence:
 * - An entry is keyed by the room's head (rooms.last_event_id), read under the room's FOR UPDATE lock. Every state
 *   change appends an event, which moves the head, so a given head identifies one state; another process's write
 *   just makes the lookup miss. Whatever changes state without appending (an admin purge) clears the head
 *   (`stateRewritten` in append.ts), and a room without a head is never cached.
 * - Entries are remembered only after the writing transaction committed (writeRoom), never from a rolled-back one.
 * - Writers get their own Map (OpenRoom.state is mutated by state events); the rows in it are shared between
 *   copies, so they are deep-frozen: nothing may modify a state row in place.
 */
import type { EventRow } from '../../db/events.js';
import { Lru } from '../../lib/lru.js';
import { deepFreeze } from '../../lib/deep-freeze.js';
import { roomKey } from '../notifier.js';

const ROOM_KEY_PREFIX = roomKey('');

/** Rooms kept, and state events kept over all rooms (a bound on memory whatever the rooms' sizes). */
export const STATE_CACHE_ROOMS = 2000;
export const STATE_CACHE_EVENTS = 200_000;

export type StateMap = Map<string, EventRow>;

/**
 * Another process wrote to these rooms (its wake names them): their heads moved, so what this process cached of them
 * can never be used again. It is dropped at once rather than left to eviction, as it may hold content redacted or
 * erased there since.
 */
export function forgetRoomsWrittenElsewhere(cache: RoomStateCache, keys: string[]): void {
  for (const key of keys) if (key.startsWith(ROOM_KEY_PREFIX)) cache.forget(key.slice(ROOM_KEY_PREFIX.length));
}

export interface RoomStateCache {
  /** A copy of the room's state at `head`, for one writer to own; undefined when not cached at that head. */
  take(roomId: string, head: string): StateMap | undefined;
  /** The room's committed state at `head`; the map must not be modified afterwards. */
  remember(roomId: string, head: string, state: StateMap): void;
  forget(roomId: string): void;
  /** Lookups that found the state, and those that did not (for tests and diagnostics). */
  readonly stats: { hits: number; misses: number };
}

export function createRoomStateCache(maxRooms = STATE_CACHE_ROOMS, maxEvents = STATE_CACHE_EVENTS): RoomStateCache {
  const lru = new Lru<string, { head: string; state: StateMap }>(maxRooms, maxEvents);
  const stats = { hits: 0, misses: 0 };
  return {
    stats,
    take(roomId, head) {
      const entry = lru.get(roomId);
      if (!entry || entry.head !== head) {
        stats.misses++;
        return undefined;
      }
      stats.hits++;
      return new Map(entry.state);
    },
    remember(roomId, head, state) {
      for (const row of state.values()) deepFreeze(row);
      lru.set(roomId, { head, state }, Math.max(1, state.size));
    },
    forget(roomId) {
      lru.delete(roomId);
    },
  };
}
