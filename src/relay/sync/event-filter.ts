/**
 * Event filters (spec: "Filtering"): types/not_types with `*` wildcards, senders/not_senders, rooms/not_rooms,
 * and limits. The not_ lists win over the allow lists.
 */
import type { z } from 'zod';
import type { roomEventFilterSchema } from '../filters.js';

export type EventFilter = z.infer<typeof roomEventFilterSchema>;

function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(type);
}

export function matchesEventFilter(filter: EventFilter | undefined, e: { type: string; sender: string; roomId?: string }): boolean {
  if (!filter) return true;
  if (filter.not_types?.some((p) => typeMatches(p, e.type))) return false;
  if (filter.types && !filter.types.some((p) => typeMatches(p, e.type))) return false;
  if (filter.not_senders?.includes(e.sender)) return false;
  if (filter.senders && !filter.senders.includes(e.sender)) return false;
  if (e.roomId !== undefined) {
    if (filter.not_rooms?.includes(e.roomId)) return false;
    if (filter.rooms && !filter.rooms.includes(e.roomId)) return false;
  }
  return true;
}

/** Rooms filter of the top-level room filter. */
export function roomAllowed(filter: { rooms?: string[]; not_rooms?: string[] } | undefined, roomId: string): boolean {
  if (!filter) return true;
  if (filter.not_rooms?.includes(roomId)) return false;
  if (filter.rooms && !filter.rooms.includes(roomId)) return false;
  return true;
}
