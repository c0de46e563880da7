/**
 * Rooms entering and leaving the scope of the room extensions (receipts, account_data, typing) between the client's
 * pos and this response. Their changes are sent for the rooms in scope only, counted from the client's pos; a room
 * outside the scope misses what changes meanwhile, so:
 *
 * - every generation keeps the scope record of its response (the rooms of each list's window and the subscribed
 *   rooms, sorted; null when no room extension is on), and a response whose record differs from the one of the
 *   client's generation writes a new generation (rare: a window changes mostly when a room is bumped into it, which
 *   writes one anyway, or when the client changes its ranges, which changes the parameters);
 * - a room that left an extension's scope (or the extension was turned off) has, on its row, the client's pos stream
 *   position written as that extension's position (`receipts_to`, `account_data_to`): the client has its data up to
 *   there;
 * - a room that entered it gets that extension's changes after its position (all current data when there is none: a
 *   room never in scope), once: the next response's generation records it in scope.
 *
 * As everything in a generation, this counts only once the client comes back with its pos: a lost response is read
 * again from the same record. docs/sliding-sync-extensions.md.
 */
import { canonicalJson } from '../../keys/signatures.js';
import { roomsInScope, type RoomScopeRequest } from './scope.js';

/** The room extensions: a room entering one's scope gets what it missed (typing: who types now). */
export const SCOPED = ['receipts', 'account_data', 'typing'] as const;
export type Scoped = (typeof SCOPED)[number];
/** Those whose data is on the stream: a room that leaves their scope keeps the position the client has it up to. */
export type Tracked = Exclude<Scoped, 'typing'>;

type ScopedRequests = { [K in Scoped]?: (RoomScopeRequest & { enabled?: boolean | null }) | null };

/** The rooms one response covered: each list's window and the subscribed rooms, sorted. */
export interface ScopeRecord {
  lists: Record<string, string[]>;
  rooms: string[];
}

/** This response's scope record; null when no room extension is on (nothing to keep). */
export function scopeRecordOf(extensions: ScopedRequests, listRooms: Map<string, string[]>, subscribed: string[]): ScopeRecord | null {
  if (!SCOPED.some((name) => extensions[name]?.enabled === true)) return null;
  return { lists: Object.fromEntries([...listRooms].map(([name, ids]) => [name, [...ids].sort()])), rooms: [...subscribed].sort() };
}

export function sameScope(a: ScopeRecord | null, b: ScopeRecord | null): boolean {
  // Compared in canonical form: a record read back from jsonb has its keys in another order.
  return canonicalJson(a) === canonicalJson(b);
}

function scopeOf(extensions: ScopedRequests, name: Scoped, record: ScopeRecord | null): Set<string> {
  const request = extensions[name];
  if (record === null || request?.enabled !== true) return new Set();
  return new Set(roomsInScope(request, new Map(Object.entries(record.lists)), record.rooms));
}

export interface ScopeChange {
  entered: string[];
  left: string[];
}

/** Per room extension, the rooms in its scope now but not at the client's pos, and the reverse. */
export function scopeChanges(
  before: { extensions: ScopedRequests; record: ScopeRecord | null },
  now: { extensions: ScopedRequests; record: ScopeRecord | null },
): Record<Scoped, ScopeChange> {
  const change = (name: Scoped): ScopeChange => {
    const was = scopeOf(before.extensions, name, before.record);
    const is = scopeOf(now.extensions, name, now.record);
    return { entered: [...is].filter((r) => !was.has(r)), left: [...was].filter((r) => !is.has(r)) };
  };
  return { receipts: change('receipts'), account_data: change('account_data'), typing: change('typing') };
}
