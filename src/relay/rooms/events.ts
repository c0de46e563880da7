/**
 * Room events as clients see them (the spec's ClientEvent), their ids, and the redaction algorithm of room
 * versions 10-11: a redacted event keeps only the keys the spec lists, so redacted ciphertext is really gone.
 */
import { randomBytes } from 'node:crypto';
import type { EventRow } from '../../db/events.js';
import { stateFromEvents, type AuthEvent, type RoomState } from './room-state.js';

export interface ClientEvent {
  event_id: string;
  room_id: string;
  type: string;
  state_key?: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned: Record<string, unknown>;
  redacts?: string;
}

/** Event ids: `$` and 43 characters of base64url. Random, as no federation needs reference hashes here. */
export function newEventId(): string {
  return `$${randomBytes(32).toString('base64url')}`;
}

export function newRoomId(serverName: string): string {
  return `!${randomBytes(15).toString('base64url').replace(/[-_]/g, 'x')}:${serverName}`;
}

/** The row as a ClientEvent; `transactionId` only for the device that sent it. */
export function clientEvent(row: EventRow, transactionId?: string, now = Date.now()): ClientEvent {
  const event: ClientEvent = {
    event_id: row.eventId,
    room_id: row.roomId,
    type: row.type,
    sender: row.sender,
    origin_server_ts: row.originServerTs,
    content: row.content,
    unsigned: { ...row.unsigned, age: Math.max(0, now - row.originServerTs) },
  };
  if (row.stateKey !== null) event.state_key = row.stateKey;
  if (row.redacts !== null) event.redacts = row.redacts;
  if (transactionId !== undefined) event.unsigned.transaction_id = transactionId;
  return event;
}

/** Stripped state (invites): only type, state_key, sender and content. */
export function strippedEvent(row: EventRow): { type: string; state_key: string; sender: string; content: Record<string, unknown> } {
  return { type: row.type, state_key: row.stateKey ?? '', sender: row.sender, content: row.content };
}

const KEPT_CONTENT: Record<string, Record<string, string[] | 'all'>> = {
  '10': {
    'm.room.member': ['membership', 'join_authorised_via_users_server'],
    'm.room.create': ['creator'],
    'm.room.join_rules': ['join_rule', 'allow'],
    'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'],
    'm.room.history_visibility': ['history_visibility'],
  },
  '11': {
    'm.room.member': ['membership', 'join_authorised_via_users_server'],
    'm.room.create': 'all',
    'm.room.join_rules': ['join_rule', 'allow'],
    'm.room.power_levels': ['ban', 'events', 'events_default', 'invite', 'kick', 'redact', 'state_default', 'users', 'users_default'],
    'm.room.history_visibility': ['history_visibility'],
    'm.room.redaction': ['redacts'],
  },
};

/** The content an event keeps after redaction (spec: "Redactions", per room version). */
export function redactedContent(roomVersion: string, type: string, content: Record<string, unknown>): Record<string, unknown> {
  const rules = KEPT_CONTENT[roomVersion === '10' ? '10' : '11'];
  const kept = rules[type];
  if (kept === 'all') return content;
  const out: Record<string, unknown> = {};
  for (const key of kept ?? []) if (key in content) out[key] = content[key];
  // v11: a member event keeps third_party_invite.signed only.
  if (roomVersion !== '10' && type === 'm.room.member') {
    const tpi = content.third_party_invite as { signed?: unknown } | undefined;
    if (tpi && typeof tpi === 'object' && 'signed' in tpi) out.third_party_invite = { signed: tpi.signed };
  }
  return out;
}

/** A stored event as the authorization rules see it. */
export function authEventOf(row: EventRow): AuthEvent {
  const e: AuthEvent = { type: row.type, sender: row.sender, content: row.content };
  if (row.stateKey !== null) e.state_key = row.stateKey;
  if (row.redacts !== null) e.redacts = row.redacts;
  return e;
}

/** Room state from stored state events (e.g. the state at a position). */
export function roomStateOfRows(rows: EventRow[]): RoomState {
  return stateFromEvents(rows.map(authEventOf));
}
