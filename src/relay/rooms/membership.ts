/**
 * Membership changes: join, invite, leave, kick, ban, unban and forget. Each is one member event through the
 * write path, so the authorization rules decide; joining a room one is already in changes nothing.
 */
import type { Hs } from '../../hs.js';
import { forbidden, notFound, unknownError } from '../../errors.js';
import * as roomsDb from '../../db/rooms.js';
import { selectUser, selectUserForShare } from '../../db/users.js';
import type { Tx } from '../../db/database.js';
import { appendEvent, currentStateOf, roomStateView, writeRoom, type OpenRoom } from './append.js';
import { joinRuleOf, pickJoinAuthoriser } from './auth-rules.js';
import { roomVersionOf } from './room-versions.js';
import { memberContent, memberContentOf } from './create-room.js';
import { resolveAlias } from './aliases.js';
import { membershipOf, requireRoom } from './access.js';
import { carrySettingsAfterJoin, predecessorOf } from './upgrade-settings.js';

export async function resolveRoomIdOrAlias(hs: Hs, roomIdOrAlias: string): Promise<string> {
  if (roomIdOrAlias.startsWith('#')) return resolveAlias(hs, roomIdOrAlias);
  if (!roomIdOrAlias.startsWith('!')) throw notFound(`${roomIdOrAlias} is neither a room id nor a room alias.`);
  return roomIdOrAlias;
}

/**
 * The joiner's profile, read under the room's lock with the user's row share-locked (pipelined behind the lock): a
 * display name change racing the join either commits first (and the join reads it) or waits for the join to commit
 * (and then finds the room among the user's rooms and updates its member event). Either way the room ends with the
 * current name.
 */
const lockedProfile = (userId: string) => async (tx: Tx) => (await selectUserForShare(tx, userId))?.profile;

/**
 * Join (guests only where m.room.guest_access allows: the authorization rules decide, for every way in). Joining the
 * replacement of an upgraded room brings the user's tags and direct-chat listing along (upgrade-settings.ts).
 */
export async function joinRoom(hs: Hs, userId: string, roomId: string, reason?: string): Promise<string> {
  const predecessor = await writeRoom(hs, roomId, async (room, profile) => {
    const current = currentStateOf(room, 'm.room.member', userId);
    if (current?.content.membership === 'join') return undefined;
    const content = memberContentOf(profile, 'join', reason ? { reason } : {});
    const via = current?.content.membership === 'invite' ? undefined : restrictedJoinAuthoriser(room);
    const joinContent = via ? { ...content, join_authorised_via_users_server: via } : content;
    await appendEvent(hs, room, userId, { type: 'm.room.member', state_key: userId, content: joinContent });
    // Joining again brings a forgotten room back.
    await roomsDb.deleteForgotten(room.tx, userId, roomId);
    return predecessorOf(currentStateOf(room, 'm.room.create')?.content);
  }, lockedProfile(userId));
  if (predecessor) await carrySettingsAfterJoin(hs, userId, predecessor, roomId);
  return roomId;
}

/**
 * A join without invite to a restricted room (v8+; knock_restricted v10+) names a joined member who may invite
 * (spec: join_authorised_via_users_server; the resident server picks one). Whether the user meets the room's allow
 * conditions is the authorization rules' check. Undefined for any other room.
 */
function restrictedJoinAuthoriser(room: OpenRoom): string | undefined {
  const rules = roomVersionOf(room.roomVersion);
  const state = roomStateView(room);
  const joinRule = joinRuleOf(state);
  if (!((joinRule === 'restricted' && rules.restrictedJoins) || (joinRule === 'knock_restricted' && rules.knockRestricted))) return undefined;
  const joined = [...room.state.values()].filter((e) => e.type === 'm.room.member' && e.content.membership === 'join').map((e) => e.stateKey!);
  return pickJoinAuthoriser(state, joined);
}

/** Knock: ask to join a room whose join rule is knock; its members may then invite the knocker. */
export async function knockRoom(hs: Hs, userId: string, roomId: string, reason?: string): Promise<string> {
  return writeRoom(hs, roomId, async (room, profile) => {
    await appendEvent(hs, room, userId, { type: 'm.room.member', state_key: userId, content: memberContentOf(profile, 'knock', reason ? { reason } : {}) });
    return roomId;
  }, lockedProfile(userId));
}

/** Another user's membership set by `sender` (invite, kick, ban, unban). */
export async function changeMembership(
  hs: Hs,
  sender: string,
  roomId: string,
  target: string,
  membership: 'invite' | 'leave' | 'ban',
  extra: { reason?: string; is_direct?: boolean } = {},
): Promise<void> {
  if (membership === 'invite' && !(await selectUser(hs.sql, target))) throw notFound(`No such user ${target}.`);
  const fields: Record<string, unknown> = {};
  if (extra.reason !== undefined) fields.reason = extra.reason;
  if (extra.is_direct !== undefined) fields.is_direct = extra.is_direct;
  const content = membership === 'invite' ? await memberContent(hs.sql, target, 'invite', fields) : { membership, ...fields };
  await writeRoom(hs, roomId, async (room) => {
    await appendEvent(hs, room, sender, { type: 'm.room.member', state_key: target, content });
    if (membership === 'invite') await roomsDb.deleteForgotten(room.tx, target, roomId);
  });
}

/** Kicks need the target to be in the room (joined, invited or knocking); unbans need a ban. */
export async function kick(hs: Hs, sender: string, roomId: string, target: string, reason?: string): Promise<void> {
  await expectMembership(hs, roomId, target, ['join', 'invite', 'knock'], `${target} is not in this room.`);
  await changeMembership(hs, sender, roomId, target, 'leave', { reason });
}

export async function unban(hs: Hs, sender: string, roomId: string, target: string, reason?: string): Promise<void> {
  await expectMembership(hs, roomId, target, ['ban'], `${target} is not banned from this room.`);
  await changeMembership(hs, sender, roomId, target, 'leave', { reason });
}

async function expectMembership(hs: Hs, roomId: string, userId: string, allowed: string[], message: string): Promise<void> {
  const membership = await membershipOf(hs.sql, userId, roomId);
  await requireRoom(hs.sql, roomId);
  if (membership === undefined || !allowed.includes(membership)) throw forbidden(message);
}

/** Leave (or reject an invite, or withdraw a knock). Leaving a room one is not in is refused. */
export async function leaveRoom(hs: Hs, userId: string, roomId: string, reason?: string): Promise<void> {
  await writeRoom(hs, roomId, async (room) => {
    const current = currentStateOf(room, 'm.room.member', userId)?.content.membership;
    if (current === undefined || current === 'leave') throw forbidden('You are not in this room.');
    await appendEvent(hs, room, userId, { type: 'm.room.member', state_key: userId, content: reason ? { membership: 'leave', reason } : { membership: 'leave' } });
  });
}

/** Forget a room one has left: it no longer appears in /sync. */
export async function forgetRoom(hs: Hs, userId: string, roomId: string): Promise<void> {
  const membership = await membershipOf(hs.sql, userId, roomId);
  if (membership === undefined) throw notFound('You have never been in this room.');
  // Spec: 400 "The user has not left the room".
  if (membership === 'join' || membership === 'invite' || membership === 'knock') throw unknownError(400, 'Leave the room before forgetting it.');
  await roomsDb.insertForgotten(hs.sql, userId, roomId);
}

/** The rooms the user is joined to now (GET /joined_rooms). */
export async function joinedRooms(hs: Hs, userId: string): Promise<string[]> {
  return roomsDb.selectRoomsWithMembership(hs.sql, userId, 'join');
}
