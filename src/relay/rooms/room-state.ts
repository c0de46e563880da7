/**
 * Room state as the auth rules read it: the state lookup, memberships, join rule, creators, the version's rules.
 * Absent state has the spec's meaning: no member event is `leave`, no (or a malformed) join rule is `invite`.
 */
import { roomVersion, type RoomVersion } from './room-versions.js';

/** An event as the auth rules see it; the server builds every event, so ids, signatures and hashes are not here. */
export type AuthEvent = {
  type: string;
  /** Present (possibly '') exactly when the event is a state event. */
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
  /** Top-level `redacts` of m.room.redaction where the version keeps it there (RoomVersion.redactsInContent). */
  redacts?: string;
};

/** The room state before an event: a read-only lookup by (type, state_key). */
export interface RoomState {
  get(type: string, stateKey: string): AuthEvent | undefined;
}

/** A RoomState holding the last state event of each (type, state_key) in `events`; message events are skipped. */
export function stateFromEvents(events: Iterable<AuthEvent>): RoomState {
  const map = new Map<string, AuthEvent>();
  for (const event of events) {
    if (event.state_key !== undefined) map.set(`${event.type}\u0000${event.state_key}`, event);
  }
  return { get: (type, stateKey) => map.get(`${type}\u0000${stateKey}`) };
}

export const createEventOf = (state: RoomState): AuthEvent | undefined => state.get('m.room.create', '');

/** The rules of the room's own version, as its m.room.create event states it. */
export function rulesOfState(state: RoomState): RoomVersion | undefined {
  const version = createEventOf(state)?.content.room_version;
  return typeof version === 'string' ? roomVersion(version) : undefined;
}

/**
 * The room's creators: v10 content.creator, v11 the create event's sender, v12 the sender plus
 * content.additional_creators. Empty when the room has no create event.
 */
export function roomCreators(state: RoomState): string[] {
  const create = createEventOf(state);
  const rules = rulesOfState(state);
  if (!create || !rules) return [];
  if (rules.creatorInContent) return typeof create.content.creator === 'string' ? [create.content.creator] : [];
  const extra = rules.infiniteCreators && Array.isArray(create.content.additional_creators) ? create.content.additional_creators : [];
  return [create.sender, ...extra.filter((u): u is string => typeof u === 'string')];
}

export type Membership = 'invite' | 'join' | 'leave' | 'ban' | 'knock';

/** The user's current membership; `leave` when the room has no member event for them (spec: assume leave). */
export function membershipOf(state: RoomState, userId: string): string {
  const membership = state.get('m.room.member', userId)?.content.membership;
  return typeof membership === 'string' ? membership : 'leave';
}

/** The room's join rule; `invite` when there is no m.room.join_rules event or it has no string join_rule. */
export function joinRuleOf(state: RoomState): string {
  const rule = state.get('m.room.join_rules', '')?.content.join_rule;
  return typeof rule === 'string' ? rule : 'invite';
}

/** Room ids from the `allow` list of m.room.join_rules that grant joins by m.room_membership (restricted rooms). */
export function allowedRoomIds(state: RoomState): string[] {
  const allow = state.get('m.room.join_rules', '')?.content.allow;
  if (!Array.isArray(allow)) return [];
  return allow
    .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
    .filter((c) => c.type === 'm.room_membership' && typeof c.room_id === 'string')
    .map((c) => c.room_id as string);
}

