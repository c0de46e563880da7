/**
 * History visibility (spec: "History visibility"): whether a user may see an event, from the user's membership
 * at the event and the room's m.room.history_visibility then. Nobody reads events from before they were allowed to.
 */
import type { Db } from '../../db/database.js';
import type { EventRow } from '../../db/events.js';
import { selectVisibilityInputs } from '../../db/events.js';

export interface VisibilityView {
  /** True when the user may see the event (at its stream position). */
  canSee(event: EventRow): boolean;
  /** The user's membership at a position ('leave' before any member event). */
  membershipAt(pos: number): string;
}

/** A view with what it was built from: enough for the room-read rule (access.ts) as well. */
export interface LoadedVisibilityView extends VisibilityView {
  /** The room's history_visibility in force at a position ('shared' before any setting). */
  historyVisibilityAt(pos: number): string;
  /** The user's member events up to the view's position, oldest first. */
  readonly memberEvents: readonly EventRow[];
}

function lastAtOrBefore<T extends { streamPos: number }>(rows: T[], pos: number): T | undefined {
  let found: T | undefined;
  for (const r of rows) {
    if (r.streamPos > pos) break;
    found = r;
  }
  return found;
}

/** Loads what visibility needs for one user in one room, up to `to` (the watermark). */
export async function visibilityFor(db: Db, roomId: string, userId: string, to: number): Promise<LoadedVisibilityView> {
  const rows = await selectVisibilityInputs(db, roomId, userId, to);
  const members = rows.filter((r) => r.type === 'm.room.member');
  const settings = rows.filter((r) => r.type === 'm.room.history_visibility');
  const joinPositions = members.filter((m) => m.content.membership === 'join').map((m) => m.streamPos);
  const membershipAt = (pos: number) => String(lastAtOrBefore(members, pos)?.content.membership ?? 'leave');
  const historyVisibilityAt = (pos: number) => String(lastAtOrBefore(settings, pos)?.content.history_visibility ?? 'shared');
  return {
    membershipAt,
    historyVisibilityAt,
    memberEvents: members,
    canSee(event) {
      const pos = event.streamPos;
      const membership = membershipAt(pos);
      if (membership === 'join') return true;
      // Users always see their own membership changes (their invite, kick, ban or leave).
      if (event.type === 'm.room.member' && event.stateKey === userId) return true;
      // The visibility in force when the event was sent: the setting before it (a change applies from the next event on).
      const setting = historyVisibilityAt(event.type === 'm.room.history_visibility' && event.stateKey === '' ? pos - 1 : pos);
      switch (setting) {
        case 'world_readable':
          return true;
        case 'shared':
          // Visible to members who joined at some point at or after it (they may have left since).
          return joinPositions.some((p) => p >= pos);
        case 'invited':
          return membership === 'invite';
        default:
          return false;
      }
    },
  };
}
