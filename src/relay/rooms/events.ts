/**
 * Room events as clients see them (the spec's ClientEvent), their ids, and the redaction algorithm (by the flags of
 * the room's version): a redacted event keeps only the keys the spec lists, so redacted ciphertext is really gone.
 */
import { randomBytes } from 'node:crypto';
import type { EventRow } from '../../db/events.js';
import { stateFromEvents, type AuthEvent, type RoomState } from './room-state.js';
import { roomVersionOf, type RoomVersion } from './room-versions.js';

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

/**
 * A new event id in the version's format: v4 is `$` and 43 characters of url-safe base64, v3 the same in standard
 * base64, v1 `$opaque:server`. Random, as no federation needs reference hashes here.
 */
export function newEventId(version: RoomVersion, serverName: string): string {
  const bytes = randomBytes(32);
  switch (version.eventIdFormat) {
    case 'v4':
      return `$${bytes.toString('base64url')}`;
    case 'v3':
      return `$${bytes.toString('base64').replace(/=+$/, '')}`;
    case 'v1':
      return `$${bytes.toString('base64url').slice(0, 18)}:${serverName}`;
  }
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
  // Spec (m.room.redaction, v11+): "for backwards compatibility with older clients, servers should add a redacts
  // property to the top level" when serving them to clients; matrix-js-sdk reads only that one.
  else if (row.type === 'm.room.redaction' && typeof row.content.redacts === 'string') event.redacts = row.content.redacts;
  if (transactionId !== undefined) event.unsigned.transaction_id = transactionId;
  return event;
}

/** Stripped state (invites): only type, state_key, sender and content. */
export function strippedEvent(row: EventRow): { type: string; state_key: string; sender: string; content: Record<string, unknown> } {
  return { type: row.type, state_key: row.stateKey ?? '', sender: row.sender, content: row.content };
}

const POWER_LEVEL_KEYS = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

/** The content keys an event of `type` keeps when redacted, by the version's redaction flags; 'all' keeps everything. */
function keptKeys(version: RoomVersion, type: string): readonly string[] | 'all' {
  switch (type) {
    case 'm.room.member':
      return version.redactionKeepsJoinAuthorisedVia ? ['membership', 'join_authorised_via_users_server'] : ['membership'];
    case 'm.room.create':
      return version.redactionV11 ? 'all' : ['creator'];
    case 'm.room.join_rules':
      return version.redactionKeepsAllow ? ['join_rule', 'allow'] : ['join_rule'];
    case 'm.room.power_levels':
      return version.redactionV11 ? [...POWER_LEVEL_KEYS, 'invite'].sort() : POWER_LEVEL_KEYS;
    case 'm.room.history_visibility':
      return ['history_visibility'];
    case 'm.room.aliases':
      return version.redactionKeepsAliases ? ['aliases'] : [];
    case 'm.room.redaction':
      return version.redactionV11 ? ['redacts'] : [];
    default:
      return [];
  }
}

/** The content an event keeps after redaction (spec: "Redactions", per room version). */
export function redactedContent(roomVersion: string, type: string, content: Record<string, unknown>): Record<string, unknown> {
  const version = roomVersionOf(roomVersion);
  const kept = keptKeys(version, type);
  if (kept === 'all') return content;
  const out: Record<string, unknown> = {};
  for (const key of kept) if (key in content) out[key] = content[key];
  // v11+: a member event keeps third_party_invite.signed only.
  if (version.redactionV11 && type === 'm.room.member') {
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
