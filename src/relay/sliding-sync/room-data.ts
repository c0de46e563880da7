/**
 * What a response says about each room in a list's window or subscribed to (MSC4186 "Room results"), given what
 * this connection already sent of it (db/sliding-sync.ts): nothing when nothing changed since; else, for a room new
 * to the connection (`initial`), its name, avatar, heroes, counts, required_state and latest timeline; for a room sent
 * before, the events after what was sent (limited past the timeline limit), the required_state that changed since,
 * and what required_state entries were added ask for. Invites (and knocks) carry their stripped state; a room left
 * since carries its timeline up to the leave.
 */
import type { Hs, Requester } from '../../hs.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow, TimelineRow } from '../../db/events.js';
import {
  selectCountsOfRooms, selectMemberSummaries, selectRoomStateFor, type ListRoomRow, type PrefetchedBatch, type RoomCounts, type SentRoomRow,
} from '../../db/sliding-sync.js';
import { selectStateChanges } from '../../db/lazy-members.js';
import { clientEvent, strippedEvent, type ClientEvent } from '../rooms/events.js';
import { bundleAggregations } from '../rooms/relations.js';
import { visibilityFor, type VisibilityView } from '../rooms/visibility.js';
import type { Ignoring } from '../ignored-users.js';
import { streamToken } from '../sync/token.js';
import { addedPairs, MEMBER, stateMatcher } from './required-state.js';
import { bumpStamp } from './room-list.js';
import type { EngineRoom, Hero, RoomConfig } from './types.js';

const HEROES = 5;
/** Members a connection remembers having sent lazily, per room; the older are sent again when needed. */
const LAZY_MEMBERS_KEPT = 1000;
/** What a room's part writes of the connection's row (the engine adds the extensions' positions, scope-changes.ts). */
export type RoomDataRow = Omit<SentRoomRow, 'receiptsTo' | 'accountDataTo'>;

const INVITE_STATE_TYPES = new Set(['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic']);

export interface RoomJob {
  row: ListRoomRow;
  config: RoomConfig;
  lists: string[];
  /** What the connection holds of the room (and whether events came after it); undefined: never sent. */
  prev: (SentRoomRow & { changed: boolean }) | undefined;
}

export interface RoomCtx {
  hs: Hs;
  requester: Requester;
  head: number;
  /** The stream position of the client's pos: events after it are live. */
  since: number | undefined;
  directRooms: Set<string>;
  /** Whom the user ignores (read with the list's account data, for every response). */
  ignoring: Ignoring;
  /** Unread counts already read at `head` (with what the connection holds, or after a wake with the list's changes). */
  counts: Map<string, RoomCounts>;
  /** Timeline batches already read (after a wake, with the list's changes): used when they are the read a room needs. */
  batches: Map<string, PrefetchedBatch>;
}

/** The view of a user joined throughout what is read: every event is visible. */
const JOINED_THROUGHOUT: VisibilityView = { canSee: () => true, membershipAt: () => 'join' };

interface Part {
  /** Undefined: nothing to send, only the connection's record moves on. */
  room: Omit<EngineRoom, 'notificationCount' | 'highlightCount' | 'timeline' | 'requiredState'> | undefined;
  timeline: TimelineRow[];
  requiredState: EventRow[];
  /** Counts and heroes are (re)sent. */
  summary: boolean;
  sent: RoomDataRow;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

function nameAndAvatar(rows: EventRow[]): { name?: string; avatar?: string } {
  const name = rows.find((e) => e.type === 'm.room.name' && e.stateKey === '');
  const avatar = rows.find((e) => e.type === 'm.room.avatar' && e.stateKey === '');
  return { name: str(name?.content.name), avatar: str(avatar?.content.url) };
}

async function invitedRoom(ctx: RoomCtx, roomId: string, job: RoomJob): Promise<Part | undefined> {
  if (job.prev && job.prev.membership === job.row.membership) return undefined;
  const invite = await eventsDb.selectEvent(ctx.hs.sql, job.row.eventId);
  if (invite && ctx.ignoring.ignores(invite.sender)) return undefined;
  const state = await eventsDb.selectCurrentStateEvents(ctx.hs.sql, roomId);
  const stripped = state.filter((r) => INVITE_STATE_TYPES.has(r.type) || (r.type === MEMBER && r.stateKey === invite?.sender && r.eventId !== invite?.eventId)).map(strippedEvent);
  if (invite) stripped.push(strippedEvent(invite));
  return {
    room: { membership: job.row.membership, initial: true, isDm: ctx.directRooms.has(roomId), inviteState: stripped, bumpStamp: bumpStamp(job.row), lists: job.lists },
    timeline: [],
    requiredState: [],
    summary: false,
    sent: { roomId, sentPos: ctx.head, membership: job.row.membership, config: job.config, lazyMembers: [] },
  };
}

/** The newest state event per (type, state key) among these events (oldest first), in stream order. */
function latestPerKey(events: EventRow[]): EventRow[] {
  const latest = new Map<string, EventRow>();
  for (const e of events) if (e.stateKey !== null) latest.set(`${e.type}\u0000${e.stateKey}`, e);
  return [...latest.values()].sort((a, b) => a.streamPos - b.streamPos);
}

/** A room the user is joined to, or left (kicked, banned) after having been sent it or while in it. */
async function memberRoom(ctx: RoomCtx, roomId: string, job: RoomJob): Promise<Part | undefined> {
  const { row, config, prev } = job;
  const userId = ctx.requester.userId;
  const joined = row.membership === 'join';
  // Incremental when the client holds the room from while it was joined (or as it is now).
  const initial = !prev || !(prev.membership === 'join' || prev.membership === row.membership);
  const prevConfig = prev?.config as RoomConfig | undefined;
  const added = !initial && prevConfig ? addedPairs(prevConfig.requiredState, config.requiredState) : [];
  // A larger timeline limit than the room was sent with: its latest events again, up to the new limit (MSC4186
  // "Changes to timeline_limit"; sent at once, flagged unstable_expanded_timeline as Synapse does).
  const expanded = !initial && prevConfig !== undefined && config.timelineLimit > prevConfig.timelineLimit;
  if (!initial && !prev!.changed && added.length === 0 && !expanded && prev!.membership === row.membership) return undefined;
  // A room no longer joined is read up to the user's leave (or ban).
  const to = joined ? ctx.head : Math.min(row.membershipPos, ctx.head);
  // State changes count from what was sent; the timeline too, unless the room is new or its timeline expanded.
  const stateFrom = initial ? 0 : Math.min(prev!.sentPos, to);
  const from = expanded ? 0 : stateFrom;
  const limit = config.timelineLimit;
  // Joined throughout what is read (joined when the room was last sent, no membership change since): every event in
  // range is visible. Otherwise (new, expanded, left, or left and back since) history visibility decides per event.
  const steady = joined && !initial && !expanded && row.membershipPos <= prev!.sentPos;
  // Read together: the visibility inputs (unless steady) and the newest limit + 1 events (one more than fits tells
  // that the timeline is limited).
  const ignoring = ctx.ignoring;
  const pre = ctx.batches.get(roomId);
  const [view, batch] = await Promise.all([
    steady ? JOINED_THROUGHOUT : visibilityFor(ctx.hs.sql, roomId, userId, to),
    to <= from ? [] : pre && pre.from === from && pre.to === to && pre.fetch === limit + 1 ? pre.rows : eventsDb.selectTimelineBackward(ctx.hs.sql, roomId, from, to, limit + 1),
  ]);
  const visible = batch.filter((e) => view.canSee(e) && !ignoring.hides(e));
  const timeline = visible.slice(Math.max(0, visible.length - limit));
  const limited = batch.length > limit || visible.length < batch.length;
  const startPos = timeline.length > 0 ? timeline[0].streamPos - 1 : to;

  const m = stateMatcher(config.requiredState, userId);
  const lazySent = new Set(initial ? [] : prev!.lazyMembers);
  const lazyWanted = new Set<string>();
  if (m.lazy) {
    for (const e of timeline) {
      if (!lazySent.has(e.sender)) lazyWanted.add(e.sender);
      if (e.type === MEMBER && e.stateKey !== null && !lazySent.has(e.stateKey)) lazyWanted.add(e.stateKey);
    }
  }
  let requiredState: EventRow[];
  let meta: EventRow[];
  let membersChanged: boolean;
  if (initial) {
    const rows = await selectRoomStateFor(ctx.hs.sql, roomId, to, m.allMembers, [...m.memberKeys, ...lazyWanted]);
    meta = rows;
    membersChanged = true;
    requiredState = rows.filter((e) => m.matches(e.type, e.stateKey!) || (e.type === MEMBER && lazyWanted.has(e.stateKey!)));
  } else {
    // When the timeline's read holds every event since what was sent, the state changes are among them: no read.
    const coversRange = from === stateFrom && batch.length <= limit;
    const changes = stateFrom >= to ? [] : coversRange ? latestPerKey(batch) : await selectStateChanges(ctx.hs.sql, roomId, stateFrom, to);
    meta = changes;
    membersChanged = changes.some((e) => e.type === MEMBER);
    // With lazy members and no gap, every membership change since is sent (the client may keep its member list).
    requiredState = changes.filter((e) => m.matches(e.type, e.stateKey!) || (e.type === MEMBER && m.lazy && (!limited || lazyWanted.has(e.stateKey!))));
    const have = new Set(requiredState.map((e) => `${e.type}\u0000${e.stateKey}`));
    const missingLazy = [...lazyWanted].filter((u) => !have.has(`${MEMBER}\u0000${u}`));
    if (added.length > 0 || missingLazy.length > 0) {
      // Expanded required_state: the current state the new entries match (and lazy members not sent yet).
      const am = stateMatcher(added, userId);
      const rows = await selectRoomStateFor(ctx.hs.sql, roomId, to, am.allMembers, [...am.memberKeys, ...missingLazy]);
      for (const e of rows) {
        const key = `${e.type}\u0000${e.stateKey}`;
        if (have.has(key)) continue;
        if (am.matches(e.type, e.stateKey!) || (e.type === MEMBER && missingLazy.includes(e.stateKey!))) {
          requiredState.push(e);
          have.add(key);
        }
      }
      requiredState.sort((a, b) => a.streamPos - b.streamPos);
    }
  }
  const lazy = [...new Set([...lazySent, ...requiredState.filter((e) => e.type === MEMBER && m.lazy).map((e) => e.stateKey!)])];
  const sent: RoomDataRow = { roomId, sentPos: ctx.head, membership: row.membership, config, lazyMembers: lazy.slice(Math.max(0, lazy.length - LAZY_MEMBERS_KEPT)) };
  if (!initial && timeline.length === 0 && requiredState.length === 0 && !membersChanged && prev!.membership === row.membership) {
    // Nothing the client would see (events it may not see, ignored senders): only the record moves on.
    return { room: undefined, timeline: [], requiredState: [], summary: false, sent };
  }
  const { name, avatar } = nameAndAvatar(meta);
  const room: NonNullable<Part['room']> = {
    membership: row.membership,
    initial,
    isDm: ctx.directRooms.has(roomId),
    limited,
    prevBatch: streamToken(startPos),
    numLive: ctx.since === undefined ? 0 : timeline.filter((e) => e.streamPos > ctx.since!).length,
    bumpStamp: bumpStamp(row),
    lists: job.lists,
  };
  if (expanded) room.expandedTimeline = true;
  if (name !== undefined) room.name = name;
  if (avatar !== undefined) room.avatar = avatar;
  return { room, timeline, requiredState, summary: joined && (initial || membersChanged), sent };
}

/** Builds the rooms to send (those with nothing new are left out) and the connection rows they leave behind. */
export async function buildRooms(ctx: RoomCtx, jobs: Map<string, RoomJob>): Promise<{ rooms: Record<string, EngineRoom>; sent: RoomDataRow[] }> {
  // The counts of the joined rooms with events since they were sent (or never sent) are read alongside their
  // timelines, unless already read; a room sent for another reason (a changed required_state, a longer timeline) has
  // them read after.
  const known = ctx.counts;
  const likely = new Set([...jobs].filter(([, j]) => j.row.membership === 'join' && (!j.prev || j.prev.changed || j.prev.membership !== 'join')).map(([r]) => r));
  const early = selectCountsOfRooms(ctx.hs.sql, ctx.requester.userId, [...likely].filter((r) => !known.has(r)), ctx.head);
  early.catch(() => {});
  const built = await Promise.all(
    [...jobs].map(async ([roomId, job]) => {
      const m = job.row.membership;
      const part = m === 'invite' || m === 'knock' ? await invitedRoom(ctx, roomId, job) : await memberRoom(ctx, roomId, job);
      return [roomId, part] as const;
    }),
  );
  const parts = built.filter((b): b is [string, Part] => b[1] !== undefined);
  const toSend = parts.filter((b): b is [string, Part & { room: NonNullable<Part['room']> }] => b[1].room !== undefined);
  const summaryRooms = toSend.filter(([, p]) => p.summary).map(([r]) => r);
  const [earlyCounts, lateCounts, summaries] = await Promise.all([
    early,
    selectCountsOfRooms(ctx.hs.sql, ctx.requester.userId, toSend.filter(([r, p]) => p.room.membership === 'join' && !likely.has(r) && !known.has(r)).map(([r]) => r), ctx.head),
    selectMemberSummaries(ctx.hs.sql, ctx.requester.userId, summaryRooms, HEROES),
  ]);
  const counts = new Map([...known, ...earlyCounts, ...lateCounts]);
  const own = toSend.flatMap(([, p]) => p.timeline).filter((e) => e.sender === ctx.requester.userId).map((e) => e.eventId);
  const txnIds = await eventsDb.selectTxnIdsOfEvents(ctx.hs.sql, ctx.requester.userId, ctx.requester.deviceId, own);
  const rooms: Record<string, EngineRoom> = {};
  const withChildren: ClientEvent[] = [];
  for (const [roomId, p] of toSend) {
    const c = counts.get(roomId) ?? { notifications: 0, highlights: 0 };
    const room: EngineRoom = { ...p.room, notificationCount: c.notifications, highlightCount: c.highlights };
    const s = summaries.get(roomId);
    if (s) {
      room.joinedCount = s.joined;
      room.invitedCount = s.invited;
      // Heroes are for rooms without a name: the client names the room after them.
      if (!s.named) room.heroes = s.heroes.map(([userId, displayName, avatarUrl]): Hero => ({ userId, ...(displayName ? { displayName } : {}), ...(avatarUrl ? { avatarUrl } : {}) }));
    }
    if (p.room.membership !== 'invite' && p.room.membership !== 'knock') {
      room.timeline = p.timeline.map((e) => clientEvent(e, txnIds.get(e.eventId)));
      room.requiredState = p.requiredState.map((e) => clientEvent(e));
      for (let i = 0; i < p.timeline.length; i++) if (p.timeline[i].hasChildren) withChildren.push(room.timeline[i]);
    }
    rooms[roomId] = room;
  }
  // Threads and edits: one batch over the timeline events that have children, bounded by the watermark.
  await bundleAggregations(ctx.hs, ctx.requester.userId, withChildren, ctx.head);
  return { rooms, sent: parts.map(([, p]) => p.sent) };
}
