/**
 * Whether a sliding-sync response writes a new generation, and which rooms it writes (docs/sliding-sync.md,
 * "Responses that only advance timelines"). Most long-poll responses only carry new events of rooms the connection
 * already holds; writing a generation for each cost a statement and a WAL flush per response. The rule that lets them
 * write nothing: the rooms a generation wrote at its own stream position (its kept rooms) are taken as sent up to the
 * stream position of any pos of that generation (db/sliding-sync.ts selectSentRooms). That holds as long as every
 * response that keeps the generation covers every kept room (its window or subscriptions held it, so it sent the
 * room's events or found none) and sends nothing but new events of kept rooms. A response that cannot keep it writes
 * a new generation, with the kept rooms that moved since their rows carried over: at the watermark when it covered
 * them, else at the pos's position (a room that left the window is not taken as sent beyond what it was sent).
 */
import { canonicalJson } from '../keys/signatures.js';
import type { HeldRoom } from '../../db/sliding-sync.js';
import type { RoomDataRow } from './room-data.js';

/** As stored (jsonb): keys holding undefined dropped; compared in canonical form, as jsonb reorders keys. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null));

/** The same record but for its position: membership, room config and lazily sent members. */
function sameRecord(a: RoomDataRow, b: RoomDataRow): boolean {
  return (
    a.membership === b.membership &&
    a.lazyMembers.length === b.lazyMembers.length &&
    a.lazyMembers.every((m, i) => b.lazyMembers[i] === m) &&
    canonicalJson(plain(a.config)) === canonicalJson(plain(b.config))
  );
}

/**
 * The rows of the generation this response must write, or undefined when it keeps the pos's generation (its pos then
 * only moves the stream position). `held`: what the connection held of the response's rooms and every kept room;
 * `covered`: the rooms of the response's windows and subscriptions; `sent`: the rows of the rooms it sent.
 */
export function generationRows(a: { mustWrite: boolean; held: Map<string, HeldRoom>; covered: Set<string>; sent: RoomDataRow[]; head: number }): RoomDataRow[] | undefined {
  const kept = [...a.held.values()].filter((h) => h.kept);
  const onlyAdvances = a.sent.every((s) => {
    const h = a.held.get(s.roomId);
    return h !== undefined && h.kept && sameRecord(h, s);
  });
  if (!a.mustWrite && onlyAdvances && kept.every((h) => a.covered.has(h.roomId))) return undefined;
  const sentIds = new Set(a.sent.map((s) => s.roomId));
  // A kept room whose events since its row were sent (by responses that kept the generation) carries that over.
  const carried = kept
    .filter((h) => h.advanced && !sentIds.has(h.roomId))
    .map((h): RoomDataRow => ({ roomId: h.roomId, sentPos: a.covered.has(h.roomId) ? a.head : h.sentPos, membership: h.membership, config: h.config, lazyMembers: h.lazyMembers }));
  return [...a.sent, ...carried];
}
