/**
 * The presence section of /sync: m.presence events of the users who changed presence in the token's range and share a
 * room with the requester (or are the requester). Presence lives in memory (ephemeral/presence.ts); with PRESENCE=off
 * nothing changes and the section stays empty. The room query runs only when someone changed.
 */
import { selectUsersSharingRooms } from '../../db/rooms.js';
import { presenceJson, type PresenceJson } from '../ephemeral/user-presence.js';
import { matchesEventFilter } from './event-filter.js';
import type { SyncSection } from './section.js';

export interface PresencePart {
  presence: { events: { type: 'm.presence'; sender: string; content: PresenceJson }[] };
}

export const presenceSection: SyncSection<PresencePart> = {
  async build({ hs, requester, filter, presence: range }) {
    const changed = hs.presence.changedIn(range.since, range.upTo).filter((u) => matchesEventFilter(filter.presence, { type: 'm.presence', sender: u }));
    if (changed.length === 0) return { presence: { events: [] } };
    const visible = new Set(await selectUsersSharingRooms(hs.sql, requester.userId));
    visible.add(requester.userId);
    const now = Date.now();
    const events = changed
      .filter((u) => visible.has(u))
      .map((u) => ({ type: 'm.presence' as const, sender: u, content: presenceJson(hs.presence.get(u), now) }));
    const limit = filter.presence?.limit;
    return { presence: { events: limit !== undefined ? events.slice(0, limit) : events } };
  },
  isEmpty: (part) => part.presence.events.length === 0,
};
