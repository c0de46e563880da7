/**
 * The rooms section of /sync: joined rooms (timeline, state, ephemeral, account data, summary), invites (stripped
 * state), knocks and left rooms, for the range (since, head]. A room joined inside the range is synced as if for the
 * first time. Its part of the snapshot (RoomsSnapshot) says which rooms changed, and holds the first timeline batch
 * of rooms joined throughout the range.
 */
import type { Hs, Requester } from '../../hs.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow, TimelineRow } from '../../db/events.js';
import type { MembershipRow } from '../../db/rooms.js';
import type { AccountDataRow } from '../../db/account-data.js';
import type { RoomsSnapshot } from '../../db/sync-snapshot.js';
import type { Filter } from '../filters.js';
import { clientEvent, strippedEvent, type ClientEvent } from '../rooms/events.js';
import { bundleAggregations } from '../rooms/relations.js';
import { visibilityFor, type LoadedVisibilityView, type VisibilityView } from '../rooms/visibility.js';
import { recordSentMembers, selectStateChanges } from '../../db/lazy-members.js';
import { lazyMode, lazyState, type LazyDevice, type LazyRoom } from './lazy-members.js';
import { matchesEventFilter, roomAllowed } from './event-filter.js';
import { receiptEvents } from '../ephemeral/receipts.js';
import { typingEventFor } from '../ephemeral/typing.js';
import { selectNotificationCounts, selectNotificationCountsByThread, type NotificationCounts } from '../../db/notifications.js';
import { streamToken } from './token.js';
import type { SyncSection } from './section.js';
import { ignoringFrom, type Ignoring } from '../ignored-users.js';
import { MAIN_THREAD } from '../push/notify.js';

const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;
const HEROES = 5;
const INVITE_STATE_TYPES = new Set(['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic']);

interface Timeline<E> {
  events: E[];
  limited: boolean;
  prev_batch: string;
}

type EphemeralEvent = { type: string; content: Record<string, unknown> };
type AccountDataEvent = { type: string; content: Record<string, unknown> };
type StrippedEvent = ReturnType<typeof strippedEvent>;
type RoomSummary = { 'm.heroes': string[]; 'm.joined_member_count': number; 'm.invited_member_count': number } | Record<string, never>;

/** A joined room; built with event rows (E = EventRow), sent as ClientEvents. */
/** A room's state: `state` (at the timeline's start), or `state_after` (at its end) when use_state_after asks for it. */
type RoomStateSection<E> = { state: { events: E[] }; state_after?: never } | { state_after: { events: E[] }; state?: never };

type JoinedRoom<E = ClientEvent> = RoomStateSection<E> & {
  timeline: Timeline<E>;
  ephemeral: { events: EphemeralEvent[] };
  account_data: { events: AccountDataEvent[] };
  unread_notifications: UnreadCounts;
  /** With the timeline filter's unread_thread_notifications: per thread root, its unread counts (none: left out). */
  unread_thread_notifications?: Record<string, UnreadCounts>;
  summary: RoomSummary;
};

type UnreadCounts = { notification_count: number; highlight_count: number };

type LeftRoom<E = ClientEvent> = RoomStateSection<E> & {
  timeline: Timeline<E>;
  account_data: { events: AccountDataEvent[] };
};

interface InvitedRoom {
  invite_state: { events: StrippedEvent[] };
}

interface KnockedRoom {
  knock_state: { events: StrippedEvent[] };
}

export interface RoomsPart {
  rooms: {
    join: Record<string, JoinedRoom>;
    invite: Record<string, InvitedRoom>;
    leave: Record<string, LeftRoom>;
    knock: Record<string, KnockedRoom>;
  };
}

interface Ctx {
  hs: Hs;
  requester: Requester;
  since: number | undefined;
  head: number;
  filter: Filter;
  fullState: boolean;
  /** use_state_after: the state section is the state at the end of the timeline (`state_after`). */
  stateAfter: boolean;
  /** Room account data changed in range, by room (already filtered). */
  roomAccountData: Map<string, AccountDataRow[]>;
  /** Events in timelines, for unsigned.transaction_id. */
  timelineEvents: EventRow[];
  /** Typing changes in (since, upTo] are delivered (since undefined: an initial sync); and the m.receipt event per room. */
  typing: { since: number | undefined; upTo: number };
  receipts: Map<string, { type: 'm.receipt'; content: Record<string, unknown> }>;
  /** Rooms with events in (since, head] (undefined: read every room). */
  roomsWithEvents: Set<string> | undefined;
  /** The snapshot's first timeline batch and unread count of rooms joined throughout the range. */
  steadyRooms: RoomsSnapshot['steady'];
  /** Timeline events that may have child events (relations) to bundle. */
  mayHaveChildren: Set<string>;
  /** Whom the user ignores (m.ignored_user_list), as of the snapshot (which reads it in its one statement). */
  ignoring: Ignoring;
  /** Lazy-loaded members (relay/sync/lazy-members.ts): the device, and what this response sends it; undefined when off. */
  lazy: LazyDevice | undefined;
}

/** The view of a user who was joined for the whole range read: every event in it is visible. */
const JOINED_THROUGHOUT: VisibilityView = { canSee: () => true, membershipAt: () => 'join' };

/**
 * The ephemeral events of a joined room: m.typing when the room's typing changed between the token's typing position
 * and the new token's (a later change waits for the next sync, which its wake starts; on an initial sync: when someone
 * is typing), m.receipt when receipts changed in the range.
 */
function ephemeralOf(ctx: Ctx, roomId: string, fresh: boolean): EphemeralEvent[] {
  const ef = ctx.filter.room?.ephemeral;
  const allowed = (type: string) => matchesEventFilter(ef && { ...ef, senders: undefined, not_senders: undefined }, { type, sender: '', roomId });
  const events: EphemeralEvent[] = [];
  const typing = typingEventFor(ctx.hs.typing, roomId, ctx.typing, fresh);
  if (typing && allowed('m.typing')) events.push(typing);
  const receipt = ctx.receipts.get(roomId);
  if (receipt && allowed('m.receipt')) events.push(receipt);
  return events.slice(0, ef?.limit ?? events.length);
}

function latestPerStateKey(rows: EventRow[]): EventRow[] {
  const map = new Map<string, EventRow>();
  for (const r of rows) if (r.stateKey !== null) map.set(`${r.type}\u0000${r.stateKey}`, r);
  return [...map.values()].sort((a, b) => a.streamPos - b.streamPos);
}

/** How many events a timeline holds at most under this filter. */
export function timelineLimit(filter: Filter): number {
  return Math.min(filter.room?.timeline?.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
}

/** How many events a timeline scans at most to learn whether visible history lies before it (beyond: limited). */
const MAX_SCAN = 1000;

interface TimelineResult {
  events: EventRow[];
  /** Visible events matching the filter were left out before the timeline (the gap), by the limit or a rejoin. */
  limited: boolean;
  prevBatch: string;
  /** The position the timeline starts after: the state section is the state there. */
  startPos: number;
  /** The state changes in (from, startPos] when the scan saw all of that range (no read needed); else undefined. */
  gapState: EventRow[] | undefined;
  /** The state changes in (from, to] when the scan saw all of that range; else undefined. */
  rangeState: EventRow[] | undefined;
}

/**
 * The timeline of a room for (from, to]: the newest visible events that match the timeline filter, up to the limit,
 * oldest first. It never reaches back past a state event the user may not see (what changed while they were away
 * from the room), so that the state section, the state at its start, carries that change. `limited` says that
 * visible, matching events were left out before it (a type filter that leaves events out does not make a gap).
 * `first`: the newest `size` events of the range, already read (by the sync snapshot), oldest first.
 */
async function timeline(
  ctx: Ctx,
  roomId: string,
  from: number,
  to: number,
  view: VisibilityView,
  first?: { rows: TimelineRow[]; size: number },
): Promise<TimelineResult> {
  const tf = ctx.filter.room?.timeline;
  const limit = timelineLimit(ctx.filter);
  const ignoring = ctx.ignoring;
  const picked: EventRow[] = [];
  // State events scanned and not picked (left out by the filter, or hidden), newest first.
  const unpicked: EventRow[] = [];
  let cursor = to;
  let limited = false;
  // Picking stops at the limit or at a state event the user may not see; the scan goes on to tell `limited`.
  let picking = true;
  let exhausted = false;
  let scanned = 0;
  while (!limited && !exhausted) {
    if (scanned >= MAX_SCAN) {
      // Not worth reading on: a client told of a gap pages back with prev_batch (and the gap's state is read).
      limited = true;
      break;
    }
    const useFirst = first !== undefined && cursor === to;
    // Once the timeline is picked, the scan only looks for one more visible, matching event: larger reads.
    const size = useFirst ? first.size : picking && picked.length < limit ? Math.max(limit * 2, 20) : 250;
    const batch = useFirst ? [...first.rows] : await eventsDb.selectTimelineBackward(ctx.hs.sql, roomId, from, cursor, size);
    exhausted = batch.length < size;
    scanned += batch.length;
    for (const e of batch.reverse()) {
      cursor = e.streamPos - 1;
      if (!view.canSee(e)) {
        if (e.stateKey !== null) {
          picking = false;
          unpicked.push(e);
        }
        continue;
      }
      if (!matchesEventFilter(tf, e) || ignoring.hides(e)) {
        if (e.stateKey !== null) unpicked.push(e);
        continue;
      }
      if (!picking || picked.length === limit) {
        limited = true;
        break;
      }
      picked.push(e);
      if ((e as TimelineRow).hasChildren) ctx.mayHaveChildren.add(e.eventId);
    }
  }
  picked.reverse();
  const startPos = picked.length > 0 ? picked[0].streamPos - 1 : to;
  // Without a gap the scan saw the whole range: the state changes before the timeline are among what it left out.
  const gapState = limited ? undefined : latestPerStateKey(unpicked.filter((e) => e.streamPos <= startPos).reverse());
  const rangeState = limited ? undefined : latestPerStateKey([...unpicked, ...picked].sort((a, b) => a.streamPos - b.streamPos));
  return { events: picked, limited, prevBatch: streamToken(startPos), startPos, gapState, rangeState };
}

/**
 * The state section for a timeline, before members are chosen lazily: everything at its start when the room is new
 * to the client (or full_state), else what changed between the client's position and its start (the gap).
 */
async function stateFor(ctx: Ctx, roomId: string, full: boolean, tl: TimelineResult): Promise<EventRow[]> {
  if (full) return eventsDb.selectStateAt(ctx.hs.sql, roomId, tl.startPos);
  if (tl.gapState) return tl.gapState;
  return selectStateChanges(ctx.hs.sql, roomId, ctx.since!, tl.startPos);
}

/**
 * use_state_after (spec v1.16, MSC4222): the state at the end of the timeline (`to`): all of it when the room is new
 * to the client (or full_state), else every state change between the client's position and there, those in the
 * timeline included (the scan's when it saw the whole range).
 */
async function stateAfterFor(ctx: Ctx, roomId: string, full: boolean, tl: TimelineResult, to: number): Promise<EventRow[]> {
  if (full) return eventsDb.selectStateAt(ctx.hs.sql, roomId, to);
  if (tl.rangeState) return tl.rangeState;
  return selectStateChanges(ctx.hs.sql, roomId, ctx.since!, to);
}

/** The room's state section under its key: `state`, or `state_after` with use_state_after. */
function stateSection<E>(ctx: Ctx, events: E[]): RoomStateSection<E> {
  return ctx.stateAfter ? { state_after: { events } } : { state: { events } };
}

/** State whose change can change a room's summary (members, heroes, whether the room has a name). */
const SUMMARY_TYPES = new Set(['m.room.member', 'm.room.name', 'm.room.canonical_alias']);

async function summary(ctx: Ctx, roomId: string): Promise<RoomSummary> {
  const state = await eventsDb.selectCurrentStateEvents(ctx.hs.sql, roomId);
  const members = state.filter((r) => r.type === 'm.room.member');
  const joined = members.filter((r) => r.content.membership === 'join').map((r) => r.stateKey!);
  const invited = members.filter((r) => r.content.membership === 'invite').map((r) => r.stateKey!);
  const named = state.some((r) => (r.type === 'm.room.name' && r.content.name) || (r.type === 'm.room.canonical_alias' && r.content.alias));
  const heroes = named ? [] : [...joined, ...invited].filter((u) => u !== ctx.requester.userId).sort().slice(0, HEROES);
  return { 'm.heroes': heroes, 'm.joined_member_count': joined.length, 'm.invited_member_count': invited.length };
}

function accountDataOf(ctx: Ctx, roomId: string): { events: AccountDataEvent[] } {
  return { events: (ctx.roomAccountData.get(roomId) ?? []).map((r) => ({ type: r.type, content: r.content })) };
}

/**
 * Where the user's current stay in a room began after an earlier one (they left, or were kicked or banned, and came
 * back): the position of the last membership event of their previous stay (a join, or a profile change). Member
 * changes after it happened while they were away. Undefined on a first join.
 */
function rejoinedAfter(view: VisibilityView): number | undefined {
  const own = (view as Partial<LoadedVisibilityView>).memberEvents;
  if (!own) return undefined;
  let i = own.length - 1;
  while (i >= 0 && own[i].content.membership === 'join') i--;
  while (i >= 0 && own[i].content.membership !== 'join') i--;
  return i >= 0 ? own[i].streamPos : undefined;
}

/** The state section of a room: the state filter, then the members chosen lazily when the filter asks for it. */
async function roomState(ctx: Ctx, roomId: string, base: EventRow[], r: Omit<LazyRoom, 'roomId' | 'state' | 'allowed'>, allowed: (e: EventRow) => boolean): Promise<EventRow[]> {
  const sf = ctx.filter.room?.state;
  const ok = (e: EventRow) => matchesEventFilter(sf, e) && allowed(e);
  const state = base.filter(ok);
  if (!ctx.lazy) return state;
  return lazyState(ctx.lazy, { ...r, roomId, state, allowed: ok });
}

const asUnread = (c: NotificationCounts): UnreadCounts => ({ notification_count: c.notifications, highlight_count: c.highlights });

/**
 * The notifications stored for the user's push rules when each event was sent, after the user's read receipts: all
 * together, or (the timeline filter's unread_thread_notifications) the main timeline's apart from each thread's.
 */
async function unreadOf(ctx: Ctx, roomId: string, prefetched: NotificationCounts | undefined): Promise<Pick<JoinedRoom, 'unread_notifications' | 'unread_thread_notifications'>> {
  if (ctx.filter.room?.timeline?.unread_thread_notifications !== true) {
    const counts = prefetched ?? (await selectNotificationCounts(ctx.hs.sql, roomId, ctx.requester.userId, ctx.head));
    return { unread_notifications: asUnread(counts) };
  }
  const byThread = await selectNotificationCountsByThread(ctx.hs.sql, roomId, ctx.requester.userId, ctx.head);
  const threads = [...byThread].filter(([thread]) => thread !== MAIN_THREAD).map(([thread, c]) => [thread, asUnread(c)] as const);
  return {
    unread_notifications: asUnread(byThread.get(MAIN_THREAD) ?? { notifications: 0, highlights: 0 }),
    ...(threads.length > 0 ? { unread_thread_notifications: Object.fromEntries(threads) } : {}),
  };
}

async function joinedRoom(ctx: Ctx, m: MembershipRow): Promise<JoinedRoom<EventRow> | undefined> {
  const roomId = m.roomId;
  // Joined at `since` and ever after (the last membership event, a join, is no later): nothing to decide per event.
  const steady = ctx.since !== undefined && m.streamPos <= ctx.since;
  const changedAccountData = ctx.roomAccountData.has(roomId);
  if (steady && !ctx.fullState && !changedAccountData && ctx.roomsWithEvents?.has(roomId) === false && ephemeralOf(ctx, roomId, false).length === 0) {
    return undefined;
  }
  const view = steady ? JOINED_THROUGHOUT : await visibilityFor(ctx.hs.sql, roomId, ctx.requester.userId, ctx.head);
  // New to the client unless it was already joined at `since` (a profile change re-sends the join: not new).
  const fresh = ctx.since === undefined || view.membershipAt(ctx.since) !== 'join';
  const from = fresh ? 0 : ctx.since!;
  const prefetched = steady ? ctx.steadyRooms.get(roomId) : undefined;
  const fetchSize = timelineLimit(ctx.filter) + 1;
  const tl = await timeline(ctx, roomId, from, ctx.head, view, prefetched && { rows: prefetched.events, size: fetchSize });
  const ephemeral = ephemeralOf(ctx, roomId, fresh);
  const full = fresh || ctx.fullState;
  if (!full && tl.events.length === 0 && tl.gapState?.length === 0 && !changedAccountData && ephemeral.length === 0) return undefined;
  const state = ctx.stateAfter ? await stateAfterFor(ctx, roomId, full, tl, ctx.head) : await stateFor(ctx, roomId, full, tl);
  ctx.timelineEvents.push(...tl.events);
  const unread = await unreadOf(ctx, roomId, prefetched?.unread);
  // The summary is sent when it may have changed (spec: only changed fields need to be sent).
  const roomSummary = full || [...tl.events, ...state].some((e) => SUMMARY_TYPES.has(e.type)) ? await summary(ctx, roomId) : {};
  // The snapshot's check of new senders covers the timeline when it holds only events of the snapshot's batch.
  const fromBatch = prefetched !== undefined && (tl.events.length === 0 || tl.events[0].streamPos >= (prefetched.events[0]?.streamPos ?? Infinity));
  const roomStateEvents = await roomState(
    ctx,
    roomId,
    state,
    {
      full,
      withOwn: full,
      timeline: tl.events,
      // With state_after the senders' member events are those at the end of the timeline.
      startPos: ctx.stateAfter ? ctx.head : tl.startPos,
      heroes: roomSummary['m.heroes'] ?? [],
      awaySince: fresh ? rejoinedAfter(view) : undefined,
      unsentSenders: fromBatch ? prefetched.unsentSenders : undefined,
    },
    () => true,
  );
  return {
    timeline: { events: tl.events, limited: tl.limited, prev_batch: tl.prevBatch },
    ...stateSection(ctx, roomStateEvents),
    ephemeral: { events: ephemeral },
    account_data: accountDataOf(ctx, roomId),
    ...unread,
    summary: roomSummary,
  };
}

/** An invite; none from a user the invitee ignores (spec: "Servers must not send room invites from ignored users"). */
async function invitedRoom(ctx: Ctx, roomId: string, inviteEventId: string): Promise<InvitedRoom | undefined> {
  const invite = await eventsDb.selectEvent(ctx.hs.sql, inviteEventId);
  if (invite && ctx.ignoring.ignores(invite.sender)) return undefined;
  const state = await eventsDb.selectCurrentStateEvents(ctx.hs.sql, roomId);
  const stripped = state.filter((r) => INVITE_STATE_TYPES.has(r.type) || (r.type === 'm.room.member' && r.stateKey === invite?.sender)).map(strippedEvent);
  if (invite) stripped.push(strippedEvent(invite));
  return { invite_state: { events: stripped } };
}

async function leftRoom(ctx: Ctx, roomId: string, leftAt: number): Promise<LeftRoom<EventRow>> {
  const view = await visibilityFor(ctx.hs.sql, roomId, ctx.requester.userId, leftAt);
  const fresh = ctx.since === undefined || view.membershipAt(ctx.since) !== 'join';
  const tl = await timeline(ctx, roomId, fresh ? 0 : ctx.since!, leftAt, view);
  const full = fresh || ctx.fullState;
  // No longer a member: only the state the user was allowed to see (none of a room whose invite they rejected).
  const state = ctx.stateAfter ? await stateAfterFor(ctx, roomId, full, tl, leftAt) : await stateFor(ctx, roomId, full, tl);
  ctx.timelineEvents.push(...tl.events);
  const startPos = ctx.stateAfter ? leftAt : tl.startPos;
  const roomStateEvents = await roomState(ctx, roomId, state, { full, withOwn: full, timeline: tl.events, startPos, heroes: [] }, (e) => view.canSee(e));
  return {
    timeline: { events: tl.events, limited: tl.limited, prev_batch: tl.prevBatch },
    ...stateSection(ctx, roomStateEvents),
    account_data: accountDataOf(ctx, roomId),
  };
}

/** A room's timeline and state as ClientEvents; the sender's own device sees its transaction ids. */
function asClientEvents<R extends { timeline: Timeline<EventRow> } & RoomStateSection<EventRow>>(room: R, txnIds: Map<string, string>) {
  const timeline = { ...room.timeline, events: room.timeline.events.map((e) => clientEvent(e, txnIds.get(e.eventId))) };
  const asClient = (s: { events: EventRow[] }) => ({ events: s.events.map((e) => clientEvent(e)) });
  return room.state_after ? { ...room, timeline, state_after: asClient(room.state_after) } : { ...room, timeline, state: asClient(room.state!) };
}

async function build(
  hs: Hs,
  requester: Requester,
  since: number | undefined,
  head: number,
  snapshot: RoomsSnapshot,
  filter: Filter,
  fullState: boolean,
  stateAfter: boolean,
  typingRange: { since: number | undefined; upTo: number },
): Promise<RoomsPart> {
  // The snapshot reads memberships and the watermark in one statement: every membership is as of the watermark.
  const memberships = snapshot.memberships;
  // Receipts of the joined rooms in two queries: the changes in range where the user's membership is older than the
  // range, and all receipts of a room whose membership changed within it (a room joined since is synced in full).
  const joined = memberships.filter((m) => m.membership === 'join' && roomAllowed(filter.room, m.roomId));
  const [receiptsOld, receiptsNew] = await Promise.all([
    receiptEvents(
      hs,
      requester.userId,
      joined.filter((m) => since !== undefined && m.streamPos <= since && snapshot.withReceipts?.has(m.roomId) !== false).map((m) => m.roomId),
      since,
      head,
    ),
    receiptEvents(hs, requester.userId, joined.filter((m) => since === undefined || m.streamPos > since).map((m) => m.roomId), undefined, head),
  ]);
  const receipts = new Map([...receiptsOld, ...receiptsNew]);
  const typing = { since: since === undefined ? undefined : (typingRange.since ?? 0), upTo: typingRange.upTo };
  const roomAccountData = new Map<string, AccountDataRow[]>();
  for (const [roomId, rows] of snapshot.accountData) {
    const kept = rows.filter((r) => matchesEventFilter(filter.room?.account_data, { type: r.type, sender: requester.userId, roomId }));
    if (kept.length > 0) roomAccountData.set(roomId, kept);
  }
  const mode = lazyMode(filter);
  const ctx: Ctx = {
    hs, requester, since, head, filter, fullState, stateAfter, roomAccountData, timelineEvents: [], typing, receipts,
    roomsWithEvents: snapshot.withEvents, steadyRooms: snapshot.steady, mayHaveChildren: new Set(), ignoring: ignoringFrom(snapshot.ignoredUsers, requester.userId),
    lazy: mode === 'off' ? undefined : { db: hs.sql, userId: requester.userId, deviceId: requester.deviceId, since, mode, sent: [] },
  };
  const join: Record<string, JoinedRoom<EventRow>> = {};
  const leave: Record<string, LeftRoom<EventRow>> = {};
  const rooms: RoomsPart['rooms'] = { join: {}, invite: {}, leave: {}, knock: {} };
  const includeLeave = filter.room?.include_leave === true;
  await Promise.all(
    memberships.map(async (m) => {
      if (!roomAllowed(filter.room, m.roomId)) return;
      const changed = since === undefined || m.streamPos > since;
      if (m.membership === 'join') {
        const room = await joinedRoom(ctx, m);
        if (room) join[m.roomId] = room;
      } else if (m.membership === 'invite' && changed) {
        const invited = await invitedRoom(ctx, m.roomId, m.eventId);
        if (invited) rooms.invite[m.roomId] = invited;
      } else if ((m.membership === 'leave' || m.membership === 'ban') && !snapshot.forgotten.has(m.roomId)) {
        if ((since !== undefined && changed) || (since === undefined && includeLeave)) leave[m.roomId] = await leftRoom(ctx, m.roomId, m.streamPos);
      } else if (m.membership === 'knock' && changed) {
        rooms.knock[m.roomId] = { knock_state: { events: [] } };
      }
    }),
  );
  // What the device was sent, at this response's position (which its next token names).
  if (ctx.lazy?.mode === 'lazy') await recordSentMembers(hs.sql, requester.userId, requester.deviceId, head, ctx.lazy.sent);
  // Serialise timelines last: the sender's own device sees its transaction ids.
  const own = ctx.timelineEvents.filter((e) => e.sender === requester.userId).map((e) => e.eventId);
  const txnIds = await eventsDb.selectTxnIdsOfEvents(hs.sql, requester.userId, requester.deviceId, own);
  for (const [roomId, room] of Object.entries(join)) rooms.join[roomId] = asClientEvents(room, txnIds);
  for (const [roomId, room] of Object.entries(leave)) rooms.leave[roomId] = asClientEvents(room, txnIds);
  const timelines = [...Object.values(rooms.join), ...Object.values(rooms.leave)].flatMap((r) => r.timeline.events);
  // Threads and edits: one batch over the timeline events that have children, bounded by this sync's watermark.
  await bundleAggregations(hs, requester.userId, timelines.filter((e) => ctx.mayHaveChildren.has(e.event_id)), head);
  return { rooms };
}

export const roomsSection: SyncSection<RoomsPart> = {
  build: ({ hs, requester, since, snapshot, filter, fullState, useStateAfter, typing }) =>
    build(hs, requester, since, snapshot.head, snapshot.rooms, filter, fullState, useStateAfter, typing),
  isEmpty: ({ rooms }) =>
    Object.keys(rooms.join).length + Object.keys(rooms.invite).length + Object.keys(rooms.leave).length + Object.keys(rooms.knock).length === 0,
};
