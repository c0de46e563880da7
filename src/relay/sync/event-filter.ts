/**
 * Event filters (spec: "Filtering"): types/not_types with `*` wildcards, senders/not_senders, rooms/not_rooms,
 * and limits. The not_ lists win over the allow lists. Wildcards are matched by lib/glob.ts (linear time, no
 * regular expression from client input); the lists are bounded by the filter schema (relay/filters.ts).
 */
import type { z } from 'zod';
import type { roomEventFilterSchema } from '../filters.js';
import { globMatches } from '../../lib/glob.js';

export type EventFilter = z.infer<typeof roomEventFilterSchema>;

/** A types list prepared once per list: exact names in a set, wildcard patterns apart, answers remembered per type. */
interface TypeList {
  exact: Set<string>;
  wildcards: string[];
  seen: Map<string, boolean>;
}

/** Answers remembered per list; a list that meets more distinct types than this starts over (bounded memory). */
const SEEN_TYPES_MAX = 256;
/** Keyed by the list itself: a stored filter is cached and frozen (relay/filters.ts), so its lists live long. */
const typeLists = new WeakMap<readonly string[], TypeList>();

function typeList(patterns: readonly string[]): TypeList {
  let list = typeLists.get(patterns);
  if (!list) {
    list = { exact: new Set(patterns.filter((p) => !p.includes('*'))), wildcards: patterns.filter((p) => p.includes('*')), seen: new Map() };
    typeLists.set(patterns, list);
  }
  return list;
}

function anyTypeMatches(patterns: readonly string[], type: string): boolean {
  const list = typeList(patterns);
  if (list.exact.has(type)) return true;
  let answer = list.seen.get(type);
  if (answer === undefined) {
    answer = list.wildcards.some((p) => globMatches(p, type));
    if (list.seen.size >= SEEN_TYPES_MAX) list.seen.clear();
    list.seen.set(type, answer);
  }
  return answer;
}

export function matchesEventFilter(filter: EventFilter | undefined, e: { type: string; sender: string; roomId?: string }): boolean {
  if (!filter) return true;
  if (filter.not_types && anyTypeMatches(filter.not_types, e.type)) return false;
  if (filter.types && !anyTypeMatches(filter.types, e.type)) return false;
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
