/**
 * Room authorization rules (the versions of room-versions.ts): whether an event may be added, given the state before it.
 * Every refusal is a 403 M_FORBIDDEN with a human reason; rule numbers are the v10/v11 pages' (v12's are one higher
 * from 2; v1-5's one higher from 4, their rule 4 being m.room.aliases). What differs between versions is a flag of the
 * version's row (room-versions.ts).
 */
// Out of scope because this server builds and signs every event itself and does not federate: signatures, hashes,
// auth_events selection (rules 2.1-2.3, 2.5), room_id domains (1.2), m.federate (3). Third-party invites (4.4.1)
// are refused. Event size limits are checked elsewhere.
import { forbidden, guestForbidden, unsupportedRoomVersion } from '../../errors.js';
import { isEventId, isUserId } from '../../lib/identifiers.js';
import { actionPowerLevel, checkPowerLevelsEvent, formatLevel, requiredPowerLevel, userPowerLevel } from './power-levels.js';
import {
  allowedRoomIds,
  createEventOf,
  joinRuleOf,
  membershipOf,
  type AuthEvent,
  type RoomState,
} from './room-state.js';
import { roomVersion, type RoomVersion } from './room-versions.js';

export { actionPowerLevel, notificationPowerLevel, requiredPowerLevel, userPowerLevel, type PowerAction } from './power-levels.js';
export {
  allowedRoomIds,
  joinRuleOf,
  membershipOf,
  roomCreators,
  stateFromEvents,
  type AuthEvent,
  type Membership,
  type RoomState,
} from './room-state.js';

export interface AuthOptions {
  /** Restricted joins: whether the user is joined to that room (an allow condition); without it they are refused. */
  isJoinedToRoom?(userId: string, roomId: string): boolean | Promise<boolean>;
  /** m.room.redaction: the sender of the event being redacted; unknown means the redact level is needed. */
  redactedEventSender?: string;
  /** Whether the user has a guest account (a server-local notion, so it is asked, not read from the room). */
  isGuest?(userId: string): boolean | Promise<boolean>;
}

/**
 * Throws 403 M_FORBIDDEN with the reason unless `event` is allowed by the room's state before it (for
 * m.room.create: an empty state). Async only because restricted joins ask `opts.isJoinedToRoom` about other rooms.
 */
export async function checkEventAuth(version: string, event: AuthEvent, state: RoomState, opts: AuthOptions = {}): Promise<void> {
  const rules = roomVersion(version);
  if (!rules) throw unsupportedRoomVersion(`Room version ${version} is not supported by this server.`);
  if (event.type === 'm.room.create') return checkCreate(rules, event, state); // 1
  const create = createEventOf(state);
  if (!create) throw forbidden('The room does not exist: it has no m.room.create event.'); // 2.4
  if (create.content.room_version !== version) {
    throw new Error(`checkEventAuth called with room version ${version} for a room of version ${String(create.content.room_version)}`);
  }
  if (event.type === 'm.room.aliases' && rules.aliasesAuthRule) return checkAliases(event); // v1-5: 4
  if (event.type === 'm.room.member') return checkMembership(rules, event, state, create, opts); // 4

  const membership = membershipOf(state, event.sender);
  if (membership !== 'join') throw forbidden(`You are not joined to this room (your membership is ${membership}); join it before sending events.`); // 5
  const level = userPowerLevel(state, event.sender);
  if (event.type === 'm.room.third_party_invite') {
    return requireLevel(level, actionPowerLevel(state, 'invite'), 'send m.room.third_party_invite'); // 6
  }
  const isState = event.state_key !== undefined;
  requireLevel(level, requiredPowerLevel(state, event.type, isState), `send ${event.type}`); // 7
  if (event.state_key?.startsWith('@') && event.state_key !== event.sender) {
    throw forbidden(`The state key ${event.state_key} belongs to that user: only they can send ${event.type} with it.`); // 8
  }
  if (event.type === 'm.room.power_levels') checkPowerLevelsEvent(rules, event, state, level); // 9
  if (event.type === 'm.room.redaction') checkRedaction(rules, event, state, level, opts);
}

function requireLevel(have: number, need: number, action: string): void {
  if (have < need) throw forbidden(`You are not allowed to ${action}: it needs power level ${need} and you have ${formatLevel(have)}.`);
}

/** Rule 1: the first event of a room; there is no state before it. */
function checkCreate(rules: RoomVersion, event: AuthEvent, state: RoomState): void {
  if (createEventOf(state)) throw forbidden('This room already has an m.room.create event; it can only be the first event of a room.'); // 1.1
  if (event.state_key !== '') throw forbidden('m.room.create must be a state event with an empty state_key.');
  // 1.3: a recognised version, and the one this room is being created with (absent would mean version 1).
  if (event.content.room_version !== rules.id) {
    throw forbidden(`m.room.create must state room_version "${rules.id}" (got ${JSON.stringify(event.content.room_version ?? null)}).`);
  }
  // 1.4 (v1-10): content.creator; we build it, so it must be the sender (v11 dropped it for the sender).
  if (rules.creatorInContent && event.content.creator !== event.sender) {
    throw forbidden(`In room version ${rules.id}, m.room.create needs content.creator set to its sender (${event.sender}).`);
  }
  const extra = event.content.additional_creators; // v12 1.4
  if (rules.infiniteCreators && extra !== undefined && !(Array.isArray(extra) && extra.every(isUserId))) {
    throw forbidden('m.room.create: additional_creators must be an array of user ids.');
  }
}

/**
 * Versions 1-5, rule 4: m.room.aliases is allowed when its state_key is the sender's server name, with no membership
 * or power level check (v6 removed the rule; the event then passes the rules of any state event).
 */
function checkAliases(event: AuthEvent): void {
  if (event.state_key === undefined) throw forbidden('m.room.aliases must be a state event.'); // 4.1
  const server = event.sender.slice(event.sender.indexOf(':') + 1);
  if (event.state_key !== server) {
    throw forbidden(`m.room.aliases: the state_key must be your server name (${server}), not ${JSON.stringify(event.state_key)}.`); // 4.2
  }
}

/** Rule 4 (v1-5: rule 5): m.room.member, by the membership it sets. */
async function checkMembership(rules: RoomVersion, event: AuthEvent, state: RoomState, create: AuthEvent, opts: AuthOptions): Promise<void> {
  const target = event.state_key;
  const membership = event.content.membership;
  if (typeof target !== 'string' || typeof membership !== 'string') {
    throw forbidden('m.room.member needs a state_key (the user id) and a string content.membership.'); // 4.1
  }
  // 4.2 (join_authorised_via_users_server must be signed by that user's server): we are that server; the allow
  // conditions it vouches for are checked in 4.3.5 instead.
  const ctx: MemberCtx = { event, state, target, senderMembership: membershipOf(state, event.sender), targetMembership: membershipOf(state, target) };
  const entering = (membership === 'join' && ctx.targetMembership !== 'join') || membership === 'knock';
  if (entering && event.sender === target) await checkGuestAccess(event, state, opts);
  switch (membership) {
    case 'join':
      return checkJoin(rules, ctx, create, opts); // 4.3
    case 'invite':
      return checkInvite(ctx); // 4.4
    case 'leave':
      return checkLeave(ctx); // 4.5
    case 'ban':
      return checkBan(ctx); // 4.6
    case 'knock':
      if (!rules.knock) break;
      return checkKnock(rules, ctx); // 4.7
  }
  throw forbidden(`Unknown membership ${JSON.stringify(membership)}.`); // 4.8
}

/**
 * Guests join (or knock on) only rooms whose m.room.guest_access is can_join, by whichever endpoint, also when
 * invited (spec: "Guest access"); a guest already joined may still update its member event. Not a rule of the
 * room versions: guests are local to a server.
 */
async function checkGuestAccess(event: AuthEvent, state: RoomState, opts: AuthOptions): Promise<void> {
  if (state.get('m.room.guest_access', '')?.content.guest_access === 'can_join') return;
  if (opts.isGuest && (await opts.isGuest(event.sender))) {
    throw guestForbidden('Guests cannot join this room (its m.room.guest_access is not can_join); register a full account.');
  }
}

interface MemberCtx {
  event: AuthEvent;
  state: RoomState;
  target: string;
  senderMembership: string;
  targetMembership: string;
}

async function checkJoin(rules: RoomVersion, { event, state, target, targetMembership }: MemberCtx, create: AuthEvent, opts: AuthOptions): Promise<void> {
  // 4.3.1: the creator's join right after m.room.create. Nothing but that join can follow m.room.create (everything
  // else needs a joined sender or a join rule), so "only m.room.create so far" means "the creator has no member event".
  const creator = rules.creatorInContent ? create.content.creator : create.sender;
  if (target === creator && !state.get('m.room.member', target)) return;
  if (event.sender !== target) throw forbidden(`You cannot join on behalf of ${target}: only they can join.`); // 4.3.2
  if (targetMembership === 'ban') throw forbidden('You are banned from this room.'); // 4.3.3
  const joinRule = joinRuleOf(state);
  const invitedOrJoined = targetMembership === 'invite' || targetMembership === 'join';
  if (joinRule === 'invite' || (joinRule === 'knock' && rules.knock)) {
    if (invitedOrJoined) return; // 4.3.4
    throw forbidden(`This room is invite-only (join rule "${joinRule}") and you have not been invited.`);
  }
  if ((joinRule === 'restricted' && rules.restrictedJoins) || (joinRule === 'knock_restricted' && rules.knockRestricted)) {
    if (invitedOrJoined) return; // 4.3.5.1
    return checkRestrictedJoin(event, state, opts); // 4.3.5.2-3
  }
  if (joinRule === 'public') return; // 4.3.6
  throw forbidden(`This room cannot be joined (join rule "${joinRule}").`); // 4.3.7
}

/**
 * 4.3.5.2: a join without invite to a restricted room. Over federation the authorising server checks the allow
 * conditions and signs; here this server is that server, so it checks them itself (C-S "Restricted rooms": the
 * server MUST verify the user meets one), then requires join_authorised_via_users_server as the spec does.
 */
async function checkRestrictedJoin(event: AuthEvent, state: RoomState, opts: AuthOptions): Promise<void> {
  let allowed = false;
  for (const roomId of allowedRoomIds(state)) {
    if (opts.isJoinedToRoom && (await opts.isJoinedToRoom(event.sender, roomId))) {
      allowed = true;
      break;
    }
  }
  if (!allowed) throw forbidden('This room is restricted: you can join it only when invited or as a member of a room it allows.');
  const via = event.content.join_authorised_via_users_server;
  if (typeof via !== 'string' || membershipOf(state, via) !== 'join' || userPowerLevel(state, via) < actionPowerLevel(state, 'invite')) {
    throw forbidden(`A restricted join needs join_authorised_via_users_server naming a joined member who can invite (got ${JSON.stringify(via ?? null)}).`);
  }
}

/** A joined member who may authorise a restricted join (join_authorised_via_users_server): the most powerful one. */
export function pickJoinAuthoriser(state: RoomState, joinedUserIds: Iterable<string>): string | undefined {
  const inviteLevel = actionPowerLevel(state, 'invite');
  let best: { userId: string; level: number } | undefined;
  for (const userId of joinedUserIds) {
    const level = userPowerLevel(state, userId);
    if (membershipOf(state, userId) === 'join' && level >= inviteLevel && (!best || level > best.level)) best = { userId, level };
  }
  return best?.userId;
}

function checkInvite({ event, state, target, senderMembership, targetMembership }: MemberCtx): void {
  if (Object.hasOwn(event.content, 'third_party_invite')) throw forbidden('Third-party invites are not supported by this server.'); // 4.4.1
  if (senderMembership !== 'join') throw forbidden(`You must be joined to the room to invite (your membership is ${senderMembership}).`); // 4.4.2
  if (targetMembership === 'join') throw forbidden(`${target} is already in the room.`); // 4.4.3
  if (targetMembership === 'ban') throw forbidden(`${target} is banned from this room; unban them before inviting them.`);
  requireLevel(userPowerLevel(state, event.sender), actionPowerLevel(state, 'invite'), 'invite'); // 4.4.4-5
}

const REMOVAL: Record<string, string> = { ban: 'unban', invite: 'withdraw the invite of', knock: 'refuse the knock of' };

function checkLeave({ event, state, target, senderMembership, targetMembership }: MemberCtx): void {
  if (event.sender === target) {
    // 4.5.1: leave, reject an invite or retract a knock
    if (targetMembership === 'invite' || targetMembership === 'join' || targetMembership === 'knock') return;
    if (targetMembership === 'ban') throw forbidden('You are banned from this room; only a moderator can lift the ban.');
    throw forbidden(`You cannot leave this room: you are not in it (your membership is ${targetMembership}).`);
  }
  if (senderMembership !== 'join') throw forbidden(`You must be joined to the room to change another user's membership (yours is ${senderMembership}).`); // 4.5.2
  const level = userPowerLevel(state, event.sender);
  const action = `${REMOVAL[targetMembership] ?? 'kick'} ${target}`;
  if (targetMembership === 'ban') requireLevel(level, actionPowerLevel(state, 'ban'), action); // 4.5.3
  requireLevel(level, actionPowerLevel(state, 'kick'), action); // 4.5.4
  requireHigherThan(state, level, target, action);
}

function checkBan({ event, state, target, senderMembership }: MemberCtx): void {
  if (senderMembership !== 'join') throw forbidden(`You must be joined to the room to ban (your membership is ${senderMembership}).`); // 4.6.1
  const level = userPowerLevel(state, event.sender);
  requireLevel(level, actionPowerLevel(state, 'ban'), `ban ${target}`); // 4.6.2-3
  requireHigherThan(state, level, target, `ban ${target}`);
}

function requireHigherThan(state: RoomState, level: number, target: string, action: string): void {
  const theirs = userPowerLevel(state, target);
  if (theirs >= level) throw forbidden(`You cannot ${action}: their power level (${formatLevel(theirs)}) is not below yours (${formatLevel(level)}).`);
}

const NO_KNOCK: Record<string, string> = {
  ban: 'You cannot knock: you are banned from this room.',
  invite: 'You cannot knock: you are already invited; accept the invite to join.',
  join: 'You cannot knock: you are already in this room.',
};

function checkKnock(rules: RoomVersion, { event, state, target, targetMembership }: MemberCtx): void {
  const joinRule = joinRuleOf(state);
  if (joinRule !== 'knock' && !(joinRule === 'knock_restricted' && rules.knockRestricted)) throw forbidden(`This room does not accept knocks (join rule "${joinRule}").`); // 4.7.1
  if (event.sender !== target) throw forbidden(`You can only knock for yourself, not for ${target}.`); // 4.7.2
  if (Object.hasOwn(NO_KNOCK, targetMembership)) throw forbidden(NO_KNOCK[targetMembership]!); // 4.7.3-4
}

/**
 * m.room.redaction, beyond rule 7 (which applies the m.room.redaction event level): the redacted event must be named
 * (v11+: content.redacts, before: top-level redacts), and redacting another user's event needs the redact level
 * ("Handling redactions"; on one server the "same domain as the original sender" escape narrows to the same user).
 */
function checkRedaction(rules: RoomVersion, event: AuthEvent, state: RoomState, level: number, opts: AuthOptions): void {
  const redacts = rules.redactsInContent ? event.content.redacts : event.redacts;
  if (!isEventId(redacts)) {
    const where = rules.redactsInContent ? 'content.redacts' : 'the top-level redacts';
    throw forbidden(`In room version ${rules.id}, m.room.redaction must name the redacted event id in ${where}.`);
  }
  if (opts.redactedEventSender === event.sender) return;
  requireLevel(level, actionPowerLevel(state, 'redact'), "redact other users' events");
}
