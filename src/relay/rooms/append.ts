/**
 * The one write path for room events: lock the room, check the encrypted-only policy and the authorization rules
 * against the current state, then append with consecutive depth and a stream position. Wakes happen after commit.
 */
import type { Hs } from '../../hs.js';
import { transaction, type Tx } from '../../db/database.js';
import { MatrixError, notFound, tooLarge } from '../../errors.js';
import * as eventsDb from '../../db/events.js';
import type { EventRow } from '../../db/events.js';
import * as roomsDb from '../../db/rooms.js';
import { takeStreamPosition } from '../../db/stream.js';
import { checkMessageEvent, checkStateEvent } from '../policy.js';
import { checkRetentionContent } from '../retention.js';
import { roomKey, userKey } from '../notifier.js';
import { checkEventAuth } from './auth-rules.js';
import type { AuthEvent, RoomState } from './room-state.js';
import { authEventOf, clientEvent, newEventId, redactedContent } from './events.js';
import { indexRelations } from './relations.js';

/** Spec: an event, as JSON, is at most 65536 bytes. */
export const MAX_EVENT_BYTES = 65536;

export interface EventDraft {
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  /** m.room.redaction in room version 10 (v11 keeps it in content). */
  redacts?: string;
}

/** A room being written in one transaction: its row (locked) and current state. */
export interface OpenRoom {
  tx: Tx;
  roomId: string;
  roomVersion: string;
  lastEventId: string | null;
  lastDepth: number;
  state: Map<string, EventRow>;
  /** Notifier keys to wake once the transaction has committed. */
  wakes: Set<string>;
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


export function currentStateOf(room: OpenRoom, type: string, stateKey = ''): EventRow | undefined {
  return room.state.get(stateKeyOf(type, stateKey));
}

/** Locks an existing room for writing. */
export async function openRoom(tx: Tx, roomId: string): Promise<OpenRoom> {
  const row = await roomsDb.selectRoomForUpdate(tx, roomId);
  if (!row) throw notFound('Unknown room.');
  const state = new Map<string, EventRow>();
  for (const e of await eventsDb.selectCurrentStateEvents(tx, roomId)) state.set(stateKeyOf(e.type, e.stateKey!), e);
  return { tx, roomId, roomVersion: row.roomVersion, lastEventId: row.lastEventId, lastDepth: row.lastDepth, state, wakes: new Set() };
}

/** A room just inserted in this transaction, with no events yet. */
export function newOpenRoom(tx: Tx, roomId: string, roomVersion: string): OpenRoom {
  return { tx, roomId, roomVersion, lastEventId: null, lastDepth: 0, state: new Map(), wakes: new Set() };
}

async function isJoined(tx: Tx, userId: string, roomId: string): Promise<boolean> {
  const rooms = await roomsDb.selectRoomsWithMembership(tx, userId, 'join');
  return rooms.includes(roomId);
}

/**
 * Checks and appends one event from `sender`. `trusted` skips the encrypted-only policy for events the server
 * itself composes (room creation); authorization rules always apply.
 */
export async function appendEvent(hs: Hs, room: OpenRoom, sender: string, draft: EventDraft, opts: { trusted?: boolean } = {}): Promise<EventRow> {
  const isState = draft.state_key !== undefined;
  if (draft.type === 'm.room.retention' && isState) checkRetentionContent(draft.content);
  if (!opts.trusted) {
    if (isState) checkStateEvent(hs.config, draft.type, draft.content, currentStateOf(room, draft.type, draft.state_key)?.content);
    else checkMessageEvent(hs.config, draft.type, draft.content);
  }
  // Where the redacted event is named depends on the room version: top level up to v10, content from v11.
  const redacts = draft.type !== 'm.room.redaction' ? undefined : room.roomVersion === '10' ? draft.redacts : (draft.content.redacts as string | undefined);
  let redactedTarget: EventRow | undefined;
  if (redacts !== undefined) {
    if (typeof redacts !== 'string') throw new MatrixError(400, 'M_BAD_JSON', 'redacts must be an event id.');
    redactedTarget = await eventsDb.selectEvent(room.tx, redacts);
    if (redactedTarget && redactedTarget.roomId !== room.roomId) redactedTarget = undefined;
  }
  const authEvent: AuthEvent = { type: draft.type, sender, content: draft.content };
  if (isState) authEvent.state_key = draft.state_key;
  if (room.roomVersion === '10' && redacts !== undefined) authEvent.redacts = redacts;
  await checkEventAuth(room.roomVersion, authEvent, roomStateView(room), {
    redactedEventSender: redactedTarget?.sender,
    isJoinedToRoom: (userId, roomId) => isJoined(room.tx, userId, roomId),
  });

  const previous = isState ? currentStateOf(room, draft.type, draft.state_key) : undefined;
  const unsigned: Record<string, unknown> = {};
  if (previous) {
    unsigned.prev_content = previous.content;
    unsigned.prev_sender = previous.sender;
    unsigned.replaces_state = previous.eventId;
  }
  const row: EventRow = {
    streamPos: 0,
    eventId: newEventId(),
    roomId: room.roomId,
    type: draft.type,
    stateKey: isState ? draft.state_key! : null,
    sender,
    originServerTs: Date.now(),
    depth: room.lastDepth + 1,
    content: draft.content,
    prevEvents: room.lastEventId ? [room.lastEventId] : [],
    unsigned,
    redacts: room.roomVersion === '10' && redacts !== undefined ? redacts : null,
  };
  const size = Buffer.byteLength(JSON.stringify({ ...clientEvent(row), prev_events: row.prevEvents, depth: row.depth }));
  if (size > MAX_EVENT_BYTES) throw tooLarge(`Events are limited to ${MAX_EVENT_BYTES} bytes; this one has ${size}.`);

  // The stream position is taken once every check has passed: the stream head's lock is held only for the writes.
  row.streamPos = await takeStreamPosition(room.tx);
  await eventsDb.insertEvent(room.tx, row);
  await indexRelations(room.tx, row, redactedTarget);
  if (isState) {
    const membership = draft.type === 'm.room.member' ? String(draft.content.membership) : null;
    await roomsDb.upsertCurrentState(room.tx, {
      roomId: room.roomId, type: draft.type, stateKey: draft.state_key!, eventId: row.eventId, streamPos: row.streamPos, membership,
    });
    room.state.set(stateKeyOf(draft.type, draft.state_key!), row);
    if (draft.type === 'm.room.member') room.wakes.add(userKey(draft.state_key!));
  }
  if (redactedTarget) {
    const content = redactedContent(room.roomVersion, redactedTarget.type, redactedTarget.content);
    await eventsDb.updateEventRedacted(room.tx, redactedTarget.eventId, content, { ...redactedTarget.unsigned, redacted_because: clientEvent(row) });
  }
  room.lastEventId = row.eventId;
  room.lastDepth = row.depth;
  await roomsDb.updateRoomHead(room.tx, room.roomId, row.eventId, row.depth);
  room.wakes.add(roomKey(room.roomId));
  return row;
}

/** Runs `write` on a locked room in one transaction, then wakes the room's (and affected users') long-polls. */
export async function writeRoom<T>(hs: Hs, roomId: string, write: (room: OpenRoom) => Promise<T>): Promise<T> {
  let wakes: Set<string> | undefined;
  const result = await transaction(hs.sql, async (tx) => {
    const room = await openRoom(tx, roomId);
    const value = await write(room);
    wakes = room.wakes;
    return value;
  });
  if (wakes && wakes.size > 0) hs.notifier.wake(wakes);
  return result as T;
}
