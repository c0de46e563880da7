/**
 * Lazy-loading room members in /sync (spec: `lazy_load_members` in the room state filter, and the /sync
 * description). The state of a room then carries only the member events a client needs to show the timeline: those
 * of its senders (and the room's heroes), as at the start of the timeline, plus the user's own when the room is new to
 * the client or the full state was asked for. Member events the device was already sent are left out unless
 * `include_redundant_members`; membership changes in a gap (the state between the client's position and the start of
 * the timeline, a rejoin's absence) are always sent. What each device was sent is recorded per device
 * (db/lazy-members.ts); when unsure, a member is sent again.
 */
import type { Db } from '../../db/database.js';
import type { EventRow } from '../../db/events.js';
import { selectMembersAt, type SentMember } from '../../db/lazy-members.js';
import type { Filter } from '../filters.js';

/** How a sync's filter asks for members: not lazily, lazily, or lazily with the redundant ones. */
export type LazyMode = 'off' | 'lazy' | 'redundant';

export function lazyMode(filter: Filter): LazyMode {
  const sf = filter.room?.state;
  if (!sf?.lazy_load_members) return 'off';
  return sf.include_redundant_members ? 'redundant' : 'lazy';
}

export interface LazyRoom {
  roomId: string;
  /** The state section before members are chosen: the full state at the timeline's start, or the gap's changes. */
  state: EventRow[];
  /** `state` is the full state at the timeline's start (the room is new to the client, or full_state). */
  full: boolean;
  /** The user's own membership must be in it (a room new to the client, full_state). */
  withOwn: boolean;
  timeline: EventRow[];
  startPos: number;
  heroes: string[];
  /** Member events after this position are changes while the user was away (a rejoin): all of them are sent. */
  awaySince?: number;
  /**
   * The timeline's senders whose current member event the device was not sent (the sync snapshot's check); undefined
   * when not checked. Senders outside it are known to the device and need no read.
   */
  unsentSenders?: Set<string>;
  /** Which state events may be sent (the state filter, a left room's view); `state` has already passed it. */
  allowed: (e: EventRow) => boolean;
}

export interface LazyDevice {
  db: Db;
  userId: string;
  deviceId: string;
  since: number | undefined;
  mode: Exclude<LazyMode, 'off'>;
  /** Collects what this response sends, recorded after it is built (mode 'lazy' only). */
  sent: SentMember[];
}

/** The state section of one room with its members chosen lazily; records what it sends. */
export async function lazyState(d: LazyDevice, r: LazyRoom): Promise<EventRow[]> {
  const wanted = new Set(r.timeline.map((e) => e.sender));
  for (const h of r.heroes) wanted.add(h);
  if (r.withOwn) wanted.add(d.userId);
  const isMember = (e: EventRow) => e.type === 'm.room.member';
  const keep = r.state.filter((e) => {
    if (!isMember(e)) return true;
    // A gap's membership changes always; from the full state, the wanted members and what changed while away.
    return !r.full || wanted.has(e.stateKey!) || (r.awaySince !== undefined && e.streamPos > r.awaySince);
  });
  if (!r.full) {
    const have = new Set(keep.filter(isMember).map((e) => e.stateKey!));
    const heroes = new Set(r.heroes);
    // The snapshot already checked the senders (the user's own messages included); the heroes were not checked.
    const toRead = [...wanted].filter((u) => !have.has(u) && (r.unsentSenders === undefined || r.unsentSenders.has(u) || heroes.has(u)));
    const members = await selectMembersAt(d.db, r.roomId, toRead, r.startPos, d);
    for (const m of members) {
      if ((d.mode === 'redundant' || !m.known) && r.allowed(m)) keep.push(stripKnown(m));
    }
    keep.sort((a, b) => a.streamPos - b.streamPos);
  }
  if (d.mode === 'lazy') {
    for (const e of [...keep, ...r.timeline]) if (isMember(e)) d.sent.push({ roomId: r.roomId, memberId: e.stateKey!, eventId: e.eventId });
  }
  return keep;
}

function stripKnown(m: EventRow & { known?: boolean }): EventRow {
  const { known: _known, ...row } = m;
  return row;
}
