/**
 * The one write path for room events: lock the room, check the encrypted-only policy and the authorization rules
 * against the current state, then append with consecutive depth and a stream position. Wakes happen after commit.
 * The current state comes from the process's state cache when the room's head matches (state-cache.ts explains
 * why that is always correct), and the writes are pipelined: one round trip before the position is taken, so the
 * stream head's lock (which serialises every writer of the server) is held for as little as possible.
 */
import anotherJson from 'another-json';
import type { Hs, TxHs } from '../../hs.js';
import { commitPipelined, transaction, type Tx } from '../../db/database.js';
import { notFound, tooLarge, badJson } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow, TxnKey } from '../../db/events.js';
import * as roomsDb from '../../db/rooms.js';
import { selectGuests, selectUser } from '../../db/users.js';
import { checkMessageEvent, checkStateEvent, checkVerificationRequest, verificationRequestOf } from '../policy.js';
import { checkRetentionContent } from '../retention.js';
import { WakeBatch, onMembershipChange, onNewRoomEvent, onNotified } from '../wakes.js';
import { checkEventAuth } from './auth-rules.js';
import type { AuthEvent, RoomState } from './room-state.js';
import { authEventOf, clientEvent, newEventId } from './events.js';
import { removeContent } from './redaction.js';
import { indexRelationAtPositionJustTaken } from './relations.js';
import { membershipOf } from './access.js';
import { roomVersionOf } from './room-versions.js';
import { deepFreeze } from '../../lib/deep-freeze.js';
import { checkCanonicalAlias } from './aliases.js';
import { deleteNotificationsOfUserInRoom, insertNotificationsAtPositionJustTaken } from '../../db/notifications.js';
import { notificationsFor, threadOf, type PushSettingsCache } from '../push/notify.js';

const canonicalJson = (v: unknown): string => anotherJson.stringify(v);

/** Spec: an event, as JSON, is at most 65536 bytes. */
export const MAX_EVENT_BYTES = 65536;

export interface EventDraft {
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  /** m.room.redaction where the version keeps it at the top level (RoomVersion.redactsInContent). */
  redacts?: string;
}

/** A room being written in one transaction: its row (locked) and current state. */
export interface OpenRoom {
  tx: Tx;
  roomId: string;
  roomVersion: string;
  lastEventId: string | null;
  lastDepth: number;
  /** Current state by (type, state_key), in stream order. The rows are deep-frozen (shared with the state cache). */
  state: Map<string, EventRow>;
  /** The wakes to send once the transaction has committed. */
  wakes: WakeBatch;
  /** Set by stateRewritten: `state` no longer mirrors current_state and must not be remembered. */
  stateRewritten: boolean;
  /** Members' push settings read in this transaction (relay/push/notify.ts). */
  push?: PushSettingsCache;
}

const stateKeyOf = (type: string, stateKey: string) => `${type}\u0000${stateKey}`;

export function roomStateView(room: OpenRoom): RoomState {
  return {
    get(type, stateKey) {
      const row = room.state.get(stateKeyOf(type, stateKey));
      return row ? authEventOf(row) : undefined;
    },
  };
}


/** The room's joined members, from its current state. */
export function joinedMembers(room: OpenRoom): string[] {
  const joined: string[] = [];
  for (const e of room.state.values()) if (e.type === 'm.room.member' && e.content.membership === 'join') joined.push(e.stateKey!);
  return joined;
}

export function currentStateOf(room: OpenRoom, type: string, stateKey = ''): EventRow | undefined {
  return room.state.get(stateKeyOf(type, stateKey));
}

/**
 * Locks an existing room for writing; its state comes from the state cache when cached at the room's head.
 * `readUnderLock` is sent right behind the lock on the same connection (pipelined: no extra round trip), so it
 * runs once the lock is granted and sees everything committed before.
 */
export async function openRoom<R>(hs: TxHs, tx: Tx, roomId: string, readUnderLock?: (tx: Tx) => Promise<R>): Promise<{ room: OpenRoom; read: R | undefined }> {
  const [row, read] = await Promise.all([roomsDb.selectRoomForUpdate(tx, roomId), readUnderLock?.(tx)]);
  if (!row) throw notFound('Unknown room.');
  let state = row.lastEventId !== null ? hs.roomStates.take(roomId, row.lastEventId) : undefined;
  if (!state) {
    state = new Map();
    for (const e of await eventsDb.selectCurrentStateEvents(tx, roomId)) state.set(stateKeyOf(e.type, e.stateKey!), deepFreeze(e));
  }
  const room: OpenRoom = {
    tx, roomId, roomVersion: row.roomVersion, lastEventId: row.lastEventId, lastDepth: row.lastDepth, state, wakes: new WakeBatch(), stateRewritten: false,
  };
  return { room, read };
}

/** A room just inserted in this transaction, with no events yet. */
export function newOpenRoom(tx: Tx, roomId: string, roomVersion: string): OpenRoom {
  return { tx, roomId, roomVersion, lastEventId: null, lastDepth: 0, state: new Map(), wakes: new WakeBatch(), stateRewritten: false };
}

/**
 * For a writer that changes current_state (or state events) other than by appending (the purge of a deleted room):
 * the head no longer identifies the state, so it is cleared in the database, which makes every process's cached
 * state of the room miss, and this process does not remember `room.state`. Nothing can be appended to a room
 * without an m.room.create event; anything appended in the same transaction would have no prev_events.
 */
export async function stateRewritten(room: OpenRoom): Promise<void> {
  await roomsDb.clearRoomHead(room.tx, room.roomId);
  // Other processes drop what they cached of the room as soon as they hear of it (state-cache.ts).
  onNewRoomEvent(room.wakes, room.roomId);
  room.lastEventId = null;
  room.stateRewritten = true;
}

/** A state row as the database would return it (a JSON copy, not shared with the caller), frozen for the cache. */
const stateRow = (row: EventRow): EventRow => deepFreeze(JSON.parse(JSON.stringify(row)) as EventRow);

/** When `row` (rewritten in place: redacted, or its unsigned changed) is current state, the room's state gets it. */
export function replaceStateRowIfCurrent(room: OpenRoom, row: EventRow): void {
  if (row.stateKey === null) return;
  const key = stateKeyOf(row.type, row.stateKey);
  if (room.state.get(key)?.eventId === row.eventId) room.state.set(key, stateRow(row));
}


type AppendOptions = {
  /** Skips the encrypted-only policy (events the server itself composes); authorization rules always apply. */
  trusted?: boolean;
  /** The client's transaction id, recorded with the event. */
  txn?: TxnKey;
  /** Nothing else is written in this transaction: COMMIT goes out in the same round trip as the event. */
  last?: boolean;
  /**
   * A state event identical to the current one (same type, state key, sender and content, as canonical JSON) writes
   * nothing: the current event is returned instead (a client's PUT /state; Synapse does the same, and it keeps rooms
   * free of no-op events). It is checked like any other first, so it is no way around the rules.
   */
  unchangedStateIsNoop?: boolean;
  /**
   * An event id and timestamp the caller derived (the m.room.create event of a v12+ room, whose reference hash is the
   * room id); only for events the server composes (`trusted`). Otherwise a new id in the version's format, and now.
   */
  derived?: { eventId: string; originServerTs: number };
};

/**
 * Guests joined to the room that an m.room.guest_access event turns away: the spec has the server make them leave
 * ("Guest access": the server MUST set their membership to leave once guest_access is no longer can_join).
 */
async function guestsTurnedAway(room: OpenRoom, draft: EventDraft): Promise<string[]> {
  if (draft.type !== 'm.room.guest_access' || draft.state_key !== '' || draft.content.guest_access === 'can_join') return [];
  const joined = [...room.state.values()].filter((e) => e.type === 'm.room.member' && e.content.membership === 'join').map((e) => e.stateKey!);
  return selectGuests(room.tx, joined);
}

/**
 * Checks and appends one event from `sender`, then what it entails in the same transaction: the guests an
 * m.room.guest_access change turns away leave.
 */
export async function appendEvent(hs: TxHs, room: OpenRoom, sender: string, draft: EventDraft, opts: AppendOptions = {}): Promise<EventRow> {
  const guests = await guestsTurnedAway(room, draft);
  const { row, appended } = await appendOne(hs, room, sender, draft, { ...opts, last: opts.last === true && guests.length === 0 });
  if (!appended) return row;
  for (const [i, guest] of guests.entries()) {
    const leave: EventDraft = { type: 'm.room.member', state_key: guest, content: { membership: 'leave' } };
    await appendOne(hs, room, guest, leave, { trusted: true, last: opts.last === true && i === guests.length - 1 });
  }
  return row;
}

/** Checks and appends one event from `sender` (`appended` false: an unchanged state event, see unchangedStateIsNoop). */
async function appendOne(hs: TxHs, room: OpenRoom, sender: string, draft: EventDraft, opts: AppendOptions): Promise<{ row: EventRow; appended: boolean }> {
  const isState = draft.state_key !== undefined;
  if (draft.type === 'm.room.retention' && isState) checkRetentionContent(draft.content);
  if (!opts.trusted) {
    if (isState) checkStateEvent(hs.config, draft.type, draft.content, currentStateOf(room, draft.type, draft.state_key)?.content);
    else checkMessageEvent(hs.config, draft.type, draft.content);
    // An in-room verification step answers a request of this room that its sender is part of.
    const request = isState ? undefined : verificationRequestOf(hs.config, draft.type, draft.content);
    if (request !== undefined) checkVerificationRequest(await eventsDb.selectEvent(room.tx, request), room.roomId, sender);
    if (draft.type === 'm.room.canonical_alias' && draft.state_key === '') {
      await checkCanonicalAlias(room.tx, hs.config.serverName, room.roomId, draft.content, currentStateOf(room, draft.type, '')?.content);
    }
  }
  // Where the redacted event is named depends on the room version: top level up to v10, content from v11.
  const version = roomVersionOf(room.roomVersion);
  const redacts = draft.type !== 'm.room.redaction' ? undefined : version.redactsInContent ? (draft.content.redacts as string | undefined) : draft.redacts;
  let redactedTarget: EventRow | undefined;
  if (redacts !== undefined) {
    if (typeof redacts !== 'string') throw badJson('redacts must be an event id.');
    redactedTarget = await eventsDb.selectEvent(room.tx, redacts);
    if (redactedTarget && redactedTarget.roomId !== room.roomId) redactedTarget = undefined;
  }
  const authEvent: AuthEvent = { type: draft.type, sender, content: draft.content };
  if (isState) authEvent.state_key = draft.state_key;
  if (!version.redactsInContent && redacts !== undefined) authEvent.redacts = redacts;
  await checkEventAuth(room.roomVersion, authEvent, roomStateView(room), {
    // An event this room does not have is checked as the sender's own (joined, and the m.room.redaction level), then
    // refused below: an event of another room and an unknown id get the same answer, so nothing tells them apart.
    redactedEventSender: redacts !== undefined && !redactedTarget ? sender : redactedTarget?.sender,
    isJoinedToRoom: async (userId, roomId) => (await membershipOf(room.tx, userId, roomId)) === 'join',
    isGuest: async (userId) => (await selectUser(room.tx, userId))?.isGuest === true,
  });

  // Spec ("Redactions"): a redaction is applied once both it and the redacted event are known, which here is never
  // the case for an event of another room or an id no room has (no federation brings it later).
  if (redacts !== undefined && !redactedTarget) throw notFound(`There is no event ${redacts} in this room.`);

  const previous = isState ? currentStateOf(room, draft.type, draft.state_key) : undefined;
  if (opts.unchangedStateIsNoop && previous && previous.sender === sender && canonicalJson(previous.content) === canonicalJson(draft.content)) {
    return { row: previous, appended: false };
  }
  const unsigned: Record<string, unknown> = {};
  if (previous) {
    unsigned.prev_content = previous.content;
    unsigned.prev_sender = previous.sender;
    unsigned.replaces_state = previous.eventId;
  }
  if (opts.derived && !opts.trusted) throw new Error('Only events the server composes may have a derived event id.');
  const row: EventRow = {
    streamPos: 0,
    eventId: opts.derived?.eventId ?? newEventId(version, hs.config.serverName),
    roomId: room.roomId,
    type: draft.type,
    stateKey: isState ? draft.state_key! : null,
    sender,
    originServerTs: opts.derived?.originServerTs ?? Date.now(),
    depth: room.lastDepth + 1,
    content: draft.content,
    prevEvents: room.lastEventId ? [room.lastEventId] : [],
    unsigned,
    redacts: !version.redactsInContent && redacts !== undefined ? redacts : null,
  };
  const size = Buffer.byteLength(JSON.stringify({ ...clientEvent(row), prev_events: row.prevEvents, depth: row.depth }));
  if (size > MAX_EVENT_BYTES) throw tooLarge(`Events are limited to ${MAX_EVENT_BYTES} bytes; this one has ${size}.`);
  // Who it notifies, by their push rules, against the state before it (relay/push/notify.ts).
  const pushed = await notificationsFor(room.tx, room.push, roomStateView(room), joinedMembers(room), row);
  room.push = pushed.cache;

  // Every check has passed. What does not need the stream position is written first, in the same round trip as the
  // statement that takes the position and inserts the event (pipelined on the transaction's connection, in call
  // order), then the relation row at that position and, for the last event, COMMIT: the stream head's lock, which
  // orders every writer of the server, is then held for PostgreSQL's own work only. The position is still the
  // transaction's last taken, so positions commit in order.
  const tx = room.tx;
  const before: Promise<unknown>[] = [];
  // A redaction removes the content from every copy (redaction.ts) before the event is appended: a rare path, so the
  // few extra round trips it takes are not pipelined.
  if (redactedTarget) await removeContent(room, redactedTarget, clientEvent(row));
  before.push(roomsDb.updateRoomHead(tx, room.roomId, row.eventId, row.depth));
  if (opts.txn) before.push(eventsDb.insertEventTxn(tx, { ...opts.txn, eventId: row.eventId }));
  const membership = draft.type === 'm.room.member' ? String(draft.content.membership) : null;
  // Unread counts start at a join (not a profile change): what notified the user before (their invite) goes.
  if (membership === 'join' && previous?.content.membership !== 'join') before.push(deleteNotificationsOfUserInRoom(tx, draft.state_key!, room.roomId));
  const positioned = roomsDb.insertEventAtNextPosition(tx, row, isState ? { membership } : undefined);
  const after = [indexRelationAtPositionJustTaken(tx, row)];
  if (pushed.notifications.length > 0) {
    after.push(insertNotificationsAtPositionJustTaken(tx, { roomId: row.roomId, eventId: row.eventId, threadId: threadOf(row.content), ts: row.originServerTs }, pushed.notifications));
    onNotified(room.wakes);
  }
  if (opts.last) after.push(commitPipelined(tx));
  [row.streamPos] = await Promise.all([positioned, ...before, ...after]);

  if (isState) {
    const key = stateKeyOf(draft.type, draft.state_key!);
    // Deleted first so that the map stays in stream order, as a load from the database would be.
    room.state.delete(key);
    room.state.set(key, stateRow(row));
    if (draft.type === 'm.room.member') onMembershipChange(room.wakes, draft.state_key!);
  }
  room.lastEventId = row.eventId;
  room.lastDepth = row.depth;
  onNewRoomEvent(room.wakes, room.roomId);
  return { row, appended: true };
}

/**
 * Runs `write` on a locked room in one transaction; once committed, remembers the room's state at its new head and
 * wakes the room's (and affected users') long-polls. `readUnderLock` (see openRoom) is handed to `write`.
 */
export async function writeRoom<T, R = undefined>(
  hs: Hs,
  roomId: string,
  write: (room: OpenRoom, read: R | undefined) => Promise<T>,
  readUnderLock?: (tx: Tx) => Promise<R>,
): Promise<T> {
  let opened: OpenRoom | undefined;
  const result = await transaction(hs.sql, async (tx) => {
    const { room, read } = await openRoom(hs, tx, roomId, readUnderLock);
    opened = room;
    return write(room, read);
  });
  const room = opened as OpenRoom;
  // Only now, after COMMIT: a rolled-back transaction's state is never remembered.
  if (room.stateRewritten || room.lastEventId === null) hs.roomStates.forget(roomId);
  else hs.roomStates.remember(roomId, room.lastEventId, room.state);
  room.wakes.send(hs.notifier);
  return result;
}
